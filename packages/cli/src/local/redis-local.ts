// A redis-server of the node's own, in the data folder, with AOF and `appendfsync always` (the
// device's durability setting) and a password, used when EDGEFLEET_REDIS_URL is not set.
//
// The password goes into a config file (mode 0600, in the redis folder) rather than onto the command
// line: every user, job code included, can read any process's /proc/<pid>/cmdline.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

class MissingRedisError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
  constructor() {
    super(
      'redis-server was not found on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set EDGEFLEET_REDIS_URL to an existing Redis.',
    );
  }
}

export interface LocalRedis {
  url: string;
  /** The pid of the redis-server running now (it changes when local mode restarts it). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** Called with the new pid each time redis-server is (re)started. */
  onStart?: (pid: number | undefined) => void;
  /** Called when redis-server exits unexpectedly, before it is restarted. */
  onExit?: (detail: string, restartInMs: number) => void;
}

/** AUTH then PING, in RESP (the password is hex, so it needs no quoting). */
function ping(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write(`AUTH ${password}\r\nPING\r\n`));
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('+PONG')) done(true);
      else if (got.startsWith('-')) done(false);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts redis-server and keeps it running: when it exits unexpectedly (a crash, a kill) it is started
 * again on the same port and folder, where it reloads its AOF; the services' clients reconnect.
 */
export async function startLocalRedis(
  dataDir: string,
  port: number,
  password: string,
  opts: LocalRedisOptions = {},
): Promise<LocalRedis> {
  if (!/^[0-9A-Za-z]{16,}$/.test(password)) throw new Error('the local Redis password must be alphanumeric');
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new MissingRedisError();
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, `requirepass ${password}\n`, { mode: 0o600 });
  chmodSync(conf, 0o600);
  const args = [
    conf,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    // Compact job records and log tails, as in docker/compose.yaml (docker/README.md gives the sizes).
    '--hash-max-listpack-value',
    '1024',
    '--stream-node-max-bytes',
    '1024',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  let stopping = false;
  let child!: ChildProcess;
  let exited!: Promise<void>;
  let failures = 0;
  const spawnRedis = () => {
    const startedAt = Date.now();
    // Its own process group: a terminal's Ctrl-C must not stop Redis under services still draining
    // (node.ts stops it last).
    child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    exited = new Promise<void>((r) => child.once('exit', () => r()));
    opts.onStart?.(child.pid);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      // Restart at once after a crash of a server that ran a while; back off while it keeps failing.
      failures = Date.now() - startedAt > 10_000 ? 0 : failures + 1;
      const delay = failures === 0 ? 100 : Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
      opts.onExit?.(`redis-server exited (${code ?? signal})`, delay);
      setTimeout(() => {
        if (!stopping) spawnRedis();
      }, delay).unref();
    });
  };
  spawnRedis();
  const first = child;
  const deadline = Date.now() + 15_000;
  while (!(await ping(port, password))) {
    if (first.exitCode !== null) {
      stopping = true;
      throw new Error(
        `redis-server exited with code ${first.exitCode}; see ${join(dir, 'redis.log')} (is port ${port} taken? set EDGEFLEET_LOCAL_REDIS_PORT)`,
      );
    }
    if (Date.now() > deadline) {
      stopping = true;
      first.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
