// A local node (`edgefleet local`) as a child process, for the drivers that exercise a whole node from
// outside: the chaos run and the benchmarks. Every port local mode would fix (the services' HTTP ports,
// gossip's UDP/TCP port, redis-server) is a free port from the caller, so such a node runs next to
// another one and next to the tests. Its output goes to a file; its pids come from <dataDir>/pids.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_FILE, readClientFile, readSecret } from '../client-file.js';
import { localPort, SERVICES, serviceSpec } from './services.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const cliEntry = join(root, 'packages/cli/dist/main.js');

export interface LocalNodeProcessOptions {
  dataDir: string;
  nodeName: string;
  /** Settings for the node on top of PATH and HOME (AWS endpoint, queue URLs, webhook secret…); not
   * EDGEFLEET_REDIS_URL: the node runs a redis-server of its own on a free port. */
  env: Record<string, string>;
  /** Appended with everything local mode prints. */
  logFile: string;
  freePort(): Promise<number>;
  /** How long local mode may take until every service answers /healthz (default 120 s). */
  startTimeoutMs?: number;
}

export interface LocalNodeProcess {
  /** `edgefleet local` itself: the supervisor (and the S3/SQS emulator when env names no endpoint). */
  child: ChildProcess;
  dataDir: string;
  /** Local mode's Redis, with its password in the URL. */
  redisUrl: string;
  redisPort: number;
  /** The job API's bearer token (from the data folder). */
  apiToken: string | undefined;
  /** HTTP port of each service, by name. */
  ports: Record<string, number>;
  /** The job API, e.g. http://127.0.0.1:41234. */
  apiUrl: string;
  /** The pid of each process local mode runs now (services and redis-server), by name. */
  pids(): Record<string, number>;
  /** Ctrl-C for local mode, then SIGKILL for whatever is left of it. */
  stop(): Promise<void>;
}

export function readLocalPids(dataDir: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

function signalPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Starts `edgefleet local` and resolves once it says the node is up (every service answered /healthz). */
export async function startLocalNodeProcess(o: LocalNodeProcessOptions): Promise<LocalNodeProcess> {
  const redisPort = await o.freePort();
  const ports: Record<string, number> = {};
  const portEnv: Record<string, string> = {
    EDGEFLEET_LOCAL_REDIS_PORT: String(redisPort),
    EDGEFLEET_LOCAL_EMULATOR_PORT: String(await o.freePort()),
    EDGEFLEET_GOSSIP_BIND_PORT: String(await o.freePort()),
  };
  for (const spec of SERVICES) {
    const port = await o.freePort();
    ports[spec.name] = port;
    portEnv[spec.portVariable] = String(port);
  }
  writeFileSync(o.logFile, '', { flag: 'a' });
  let out = '';
  const child = spawn(process.execPath, [cliEntry, 'local'], {
    cwd: root,
    // Its own process group, so that stop() can reach whatever it leaves behind.
    detached: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...portEnv,
      ...o.env,
      EDGEFLEET_DATA_DIR: o.dataDir,
      EDGEFLEET_NODE_NAME: o.nodeName,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onOut = (d: Buffer) => {
    appendFileSync(o.logFile, d);
    if (out.length < 100_000) out += d.toString();
  };
  child.stdout?.on('data', onOut);
  child.stderr?.on('data', onOut);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await Promise.race([exited, delay(45_000)]);
    }
    if (child.pid) signalPid(-child.pid, 'SIGKILL');
    for (const pid of Object.values(readLocalPids(o.dataDir))) signalPid(pid, 'SIGKILL');
  };

  const upLine = `node ${o.nodeName} is up`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 120_000);
  while (!out.includes(upLine)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `local mode did not come up (exit ${child.exitCode}); see ${o.logFile}:\n${out.slice(-2000)}`,
      );
    }
    await delay(200);
  }
  const receiverPort = localPort(serviceSpec('job-receiver'), portEnv);
  const client = readClientFile(join(o.dataDir, CLIENT_FILE));
  const password = client.kind === 'ok' ? readSecret(client.file.redis.passwordFile) : undefined;
  return {
    child,
    dataDir: o.dataDir,
    redisUrl: `redis://${password ? `:${password}@` : ''}127.0.0.1:${redisPort}`,
    redisPort,
    apiToken: client.kind === 'ok' ? readSecret(client.file.apiTokenFile) : undefined,
    ports,
    apiUrl: `http://127.0.0.1:${receiverPort}`,
    pids: () => readLocalPids(o.dataDir),
    stop,
  };
}
