// Reads this host's default routes for the advertise-address choice (advertise-interface.ts):
// /proc/net/route (per network namespace), else `ip -4 route show default` where /proc is not
// mounted the usual way. Never throws: no routes means the fallbacks decide.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type DefaultRoute, parseIpRouteDefault, parseProcNetRoute } from './advertise-interface.js';

export function readDefaultRoutes(procRoute = '/proc/net/route'): DefaultRoute[] {
  try {
    return parseProcNetRoute(readFileSync(procRoute, 'utf8'));
  } catch {
    // /proc/net/route unreadable: ask iproute2 (bounded; a missing `ip` gives no routes).
  }
  try {
    const out = execFileSync('ip', ['-4', 'route', 'show', 'default'], {
      encoding: 'utf8',
      timeout: 2_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseIpRouteDefault(out);
  } catch {
    return [];
  }
}
