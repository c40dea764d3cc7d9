// A real redis-server per test file, on its own port and data folder, so tests can kill it (-9, a
// power cut), restart it from its AOF, or stop it for a while. Nothing is shared with other files.
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';

export interface RedisServerOptions {
  /** AOF with `appendfsync always` (the device setting). Default true. */
  aof?: boolean;
  appendfsync?: 'always' | 'everysec' | 'no';
  password?: string;
  /** Data folder (AOF), e.g. on the same small disk as the job folders; default a new temp folder. */
  dir?: string;
  /** Also listen on a Unix socket in the data folder (`socketPath`, mode 0700). */
  unixSocket?: boolean;
  /** Run redis-server as this user and group (no supplementary groups), e.g. Redis's uid/gid 999 of the compose file; its data folder is handed to it. */
  user?: { uid: number; gid: number };
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** The Unix socket, when started with `unixSocket`. */
  socketPath?: string;
  /** A new client (closed by whoever calls this). */
  client(): Redis;
  /** Sends a signal (default SIGKILL: no chance to flush anything) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and data folder (replaying the AOF). */
  restart(): Promise<void>;
  /** Stops the server and deletes its data folder. */
  stop(): Promise<void>;
  readonly running: boolean;
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'edgefleet-redis-'));
  let port = await freePort();
  let child: ChildProcess | undefined;
  if (opts.user) chownSync(dir, opts.user.uid, opts.user.gid);
  const aof = opts.aof ?? true;
  const args = () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    aof ? 'yes' : 'no',
    '--appendfsync',
    opts.appendfsync ?? 'always',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...(opts.password ? ['--requirepass', opts.password] : []),
    ...(opts.unixSocket ? ['--unixsocket', join(dir, 'redis.sock'), '--unixsocketperm', '700'] : []),
  ];
  const url = () =>
    `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`;

  async function launch(): Promise<void> {
    child = spawn('redis-server', args(), { stdio: 'ignore', ...opts.user });
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    const probe = new Redis(url(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await eventually(
        async () => {
          if (child?.exitCode !== null) throw new Error(`redis-server exited with ${child?.exitCode}`);
          if (probe.status !== 'ready') await probe.connect().catch(() => {});
          // LOADING while replaying the AOF: not ready yet.
          return (await probe.ping()) === 'PONG';
        },
        { timeoutMs: 10_000, what: 'redis-server up' },
      );
    } catch (e) {
      child?.kill('SIGKILL');
      await exited;
      throw e;
    } finally {
      probe.disconnect();
    }
  }

  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      port = await freePort(); // lost a race for the port: pick another
    }
  }

  const server: RedisServer = {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    dir,
    ...(opts.unixSocket ? { socketPath: join(dir, 'redis.sock') } : {}),
    client: () => new Redis(url(), { maxRetriesPerRequest: 2 }),
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    },
    async restart() {
      await server.kill('SIGKILL');
      await launch();
    },
    async stop() {
      await server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
  };
  return server;
}
