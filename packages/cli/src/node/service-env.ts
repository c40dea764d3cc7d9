// The environment each service sees when the four share one process (`edgefleet node`). Every service
// reads the same variable names (EDGEFLEET_PORT, EDGEFLEET_LOG_LEVEL…), so a setting meant for one of
// them carries its prefix: EDGEFLEET_<SERVICE>__<NAME> becomes EDGEFLEET_<NAME> for that service only,
// on top of the shared environment. Example: EDGEFLEET_RECEIVER__PORT=4100,
// EDGEFLEET_EXECUTOR__PORT=4101. Without a prefixed port each service keeps its own default port.

/** The prefix of each service's own settings, by service name. */
const SERVICE_ENV_PREFIX = {
  'job-receiver': 'RECEIVER',
  'job-executor': 'EXECUTOR',
  'result-uploader': 'UPLOADER',
  'gossip-membership': 'GOSSIP',
} as const;

export type NodeServiceName = keyof typeof SERVICE_ENV_PREFIX;

/** The shared environment with `EDGEFLEET_<PREFIX>__*` applied and every service's prefixed variable removed. */
export function serviceEnv(env: NodeJS.ProcessEnv, service: NodeServiceName): NodeJS.ProcessEnv {
  const own = `EDGEFLEET_${SERVICE_ENV_PREFIX[service]}__`;
  const prefixed = Object.values(SERVICE_ENV_PREFIX).map((p) => `EDGEFLEET_${p}__`);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!prefixed.some((p) => k.startsWith(p))) out[k] = v;
  for (const [k, v] of Object.entries(env))
    if (k.startsWith(own)) out[`EDGEFLEET_${k.slice(own.length)}`] = v;
  return out;
}

/** The inverse, for a supervisor: one service's variables written under its prefix. */
export function prefixServiceEnv(
  service: NodeServiceName,
  vars: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars))
    out[k.startsWith('EDGEFLEET_') ? `EDGEFLEET_${SERVICE_ENV_PREFIX[service]}__${k.slice(10)}` : k] = v;
  return out;
}
