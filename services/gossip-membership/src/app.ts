// The HTTP surface of gossip-membership: the legacy `cluster` program's endpoints (/info, /members,
// /status, same JSON keys), the versioned /v1 API (the keyring routes are in keyring/keyring-routes.ts), and
// health/readiness/metrics from service-kit.
import { createHttpApp, errorBody, type HttpApp, type ReadinessCheck } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SERVICE } from './config.js';
import type { KeyringAdmin } from './keyring/keyring-admin.js';
import { registerKeyringRoutes } from './keyring/keyring-routes.js';
import { membersBody } from './member-json.js';
import type { MemberInfo, MemberState, MembershipView } from './membership-view.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  apiToken?: string;
  registry?: Registry;
  /** Undefined until the node has started (then the membership routes answer 503). */
  view: () => MembershipView | undefined;
  /** The runtime keyring API (/v1/keyring*); absent = no such routes. Undefined until started (503). */
  keyring?: () => KeyringAdmin | undefined;
}

const STATES: ReadonlySet<string> = new Set(['alive', 'suspect', 'dead', 'left']);

/** `?state=` → the set of states (undefined = all), null when a value is not a state. */
function parseStates(raw: string | undefined): ReadonlySet<MemberState> | undefined | null {
  if (raw === undefined || raw === '') return undefined;
  const list = raw.split(',').map((s) => s.trim());
  return list.every((s) => STATES.has(s)) ? new Set(list as MemberState[]) : null;
}

/** Legacy member object: memberlist's Node fields the Go program marshalled. */
const legacy = (m: MemberInfo) => ({ Name: m.name, IP: m.ip, Port: m.port, State: m.state });

export function buildApp(deps: AppDeps): HttpApp {
  const http = createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
  });
  const { app } = http;

  // Every membership route needs a started node.
  const viewOr503 = (reply: { status(n: number): { send(b: unknown): unknown } }) => {
    const v = deps.view();
    if (!v) reply.status(503).send(errorBody('NOT_STARTED', 'membership node is starting'));
    return v;
  };

  app.get('/info', async (_req, reply) => {
    const v = viewOr503(reply);
    if (!v) return reply;
    const self = v.self();
    return { Name: self.name, IP: self.ip, Port: self.port };
  });

  app.get('/members', async (_req, reply) => {
    const v = viewOr503(reply);
    if (!v) return reply;
    const all = v.members();
    return {
      Active: all.filter((m) => m.state === 'alive' || m.state === 'suspect').map(legacy),
      Dead: all.filter((m) => m.state === 'dead' || m.state === 'left').map(legacy),
    };
  });

  app.get('/status', async (_req, reply) => {
    const v = viewOr503(reply);
    if (!v) return reply;
    return { Name: 'Health Score', Score: v.health() };
  });

  // ?state=dead,left (any of alive, suspect, dead, left) keeps only members in those states.
  app.get<{ Querystring: { state?: string } }>('/v1/members', async (req, reply) => {
    const states = parseStates(req.query.state);
    if (states === null)
      return reply
        .status(400)
        .send(errorBody('BAD_STATE', 'state: expected a comma-separated list of alive, suspect, dead, left'));
    const v = viewOr503(reply);
    if (!v) return reply;
    return membersBody(v, states);
  });

  app.post('/v1/leave', { preHandler: http.requireToken }, async (_req, reply) => {
    const v = viewOr503(reply);
    if (!v) return reply;
    await v.leave();
    return reply.status(200).send({ status: 'left', name: v.self().name });
  });

  if (deps.keyring) registerKeyringRoutes(http, deps.keyring);

  return http;
}
