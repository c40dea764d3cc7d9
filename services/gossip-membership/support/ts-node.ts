// Our service as a real process (`node dist/main.js`, built first) for interop tests and the bench:
// started with the legacy-style flags and production's node flags (src/node-args.ts, as NODE_OPTIONS
// unless the caller sets its own), observed through its HTTP API.
import { fileURLToPath } from 'node:url';
import { eventually, type ServiceProcess, startServiceProcess } from '@edgefleet/testkit';
import { GOSSIP_NODE_ARGS } from '../src/node-args.js';

export const serviceEntry = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface TsMember {
  name: string;
  ip: string;
  port: number;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
}

export interface TsNodeOptions {
  name: string;
  ip: string;
  bindPort: number;
  httpPort: number;
  members?: string[];
  profile?: 'local' | 'lan' | 'wan';
  env?: Record<string, string>;
  extraArgs?: string[];
  /** How long to wait for the HTTP API after spawning, ms (default 15 000). */
  startTimeoutMs?: number;
}

export interface TsNode {
  name: string;
  ip: string;
  bindPort: number;
  httpPort: number;
  proc: ServiceProcess;
  members(): Promise<TsMember[]>;
  stateOf(name: string): Promise<TsMember['state'] | undefined>;
  metrics(): Promise<string>;
  /** SIGKILL: no leave. */
  kill(): Promise<void>;
  /** SIGTERM: graceful leave, then exit; resolves with the exit code. */
  stop(): Promise<number | string>;
}

export async function startTsNode(o: TsNodeOptions): Promise<TsNode> {
  const args = [
    `-name=${o.name}`,
    `--bind=${o.ip}`,
    '-bindPort',
    String(o.bindPort),
    `--port=${o.httpPort}`,
    `-profile=${o.profile ?? 'local'}`,
    ...(o.members?.length ? [`-members=${o.members.join(',')}`] : []),
    ...(o.extraArgs ?? []),
  ];
  const proc = startServiceProcess(serviceEntry, {
    args,
    // No Redis unless the caller gives one: gossip must run without it (the load is then absent).
    env: {
      EDGEFLEET_HTTP_HOST: '127.0.0.1',
      EDGEFLEET_LOG_LEVEL: 'warn',
      EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:1',
      NODE_OPTIONS: GOSSIP_NODE_ARGS.join(' '),
      ...o.env,
    },
  });
  const base = `http://127.0.0.1:${o.httpPort}`;
  try {
    await proc.waitForHttp(`${base}/info`, o.startTimeoutMs ?? 15_000);
  } catch (err) {
    // Not left running behind a failed start.
    await proc.stop('SIGKILL').catch(() => {});
    throw err;
  }
  const members = async (): Promise<TsMember[]> => {
    const r = await fetch(`${base}/v1/members`);
    return ((await r.json()) as { members: TsMember[] }).members;
  };
  return {
    ...o,
    proc,
    members,
    stateOf: async (name) => (await members()).find((m) => m.name === name)?.state,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    async kill() {
      await proc.stop('SIGKILL');
    },
    stop: () => proc.stop('SIGTERM', 10_000),
  };
}

/** Waits until `fn` resolves truthy (and returns that value), polling every 50 ms, failing with `what` after `timeoutMs`. */
export const until = <T>(fn: () => Promise<T>, what: string, timeoutMs = 15_000) =>
  eventually(fn, { timeoutMs, intervalMs: 50, what });
