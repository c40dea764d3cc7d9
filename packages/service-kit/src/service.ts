// The common start of every service's main.ts: load config (a bad variable prints one line naming it
// and exits with code 2, no stack trace), then run the service's own start function; a failure to
// start is logged and exits with code 1; a start the service refuses on purpose (StartRefused: the
// device is not fit to run it) prints its one line, no stack trace, and exits with code 1.
import { ConfigError } from './config.js';

/** A start-up check failed: the message is the one line the operator sees (what, and the fix). */
export class StartRefused extends Error {}

/** Exit code for invalid configuration (distinct from a crash, so supervisors can tell). */
export const EXIT_CONFIG = 2;

export async function runService<C>(
  service: string,
  loadConfig: () => C,
  start: (config: C) => Promise<void>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${service}: ${e.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
  try {
    await start(config);
  } catch (e) {
    if (e instanceof StartRefused) {
      process.stderr.write(`${service}: ${e.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`${service}: failed to start: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  }
}
