// A redis-server of the node's own, in the data folder, with AOF and `appendfsync always` (the
// device's durability setting), used when EDGEFLEET_REDIS_URL is not set.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export class MissingRedisError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
  constructor() {
    super(
      'redis-server was not found on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set EDGEFLEET_REDIS_URL to an existing Redis.',
    );
  }
}

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
    s.on('error', () => resolve(false));
  });
}

export async function startLocalRedis(dataDir: string, port: number): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new MissingRedisError();
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    [
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
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null)
      throw new Error(
        `redis-server exited with code ${child.exitCode}; see ${join(dir, 'redis.log')} (is port ${port} taken? set EDGEFLEET_LOCAL_REDIS_PORT)`,
      );
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
