// A data folder the job user cannot enter (under a 0700 home) would fail every job deep in a log.
// The executor starts but is not ready: /readyz answers 503 with one line naming the folder in the way
// and the fix, it takes no job, and once the folder is fixed it becomes ready by itself; local mode
// (packages/cli, what scripts/start.sh runs) refuses with the same line before it starts anything.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUPS, redisNames } from '@edgefleet/contracts';
import {
  eventually,
  freePort,
  type RedisServer,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../support/harness.js';

const USER = 'ef-hostile-data';
const executor = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const cli = fileURLToPath(new URL('../../../../packages/cli/dist/main.js', import.meta.url));
let redis: RedisServer;
let home: string;
let dataDir: string;
beforeAll(async () => {
  ensureUser(USER);
  redis = await startRedisServer();
  home = mkdtempSync(join(tmpdir(), 'edgefleet-home-'));
  chmodSync(home, 0o700); // a home folder only its owner (root) may enter
  dataDir = join(home, 'edgefleet-data');
  mkdirSync(dataDir);
});
afterAll(async () => {
  await redis?.stop();
  rmSync(home, { recursive: true, force: true });
});

const expected = () =>
  `data folder ${dataDir} is not reachable by the job user ${USER}: ${home} is mode 0700; ` +
  `run \`chmod o+x ${home}\` or set EDGEFLEET_DATA_DIR to a folder the job user can reach`;

/** The consumer groups of the jobs stream ([] while it does not exist). */
async function fetchGroups(): Promise<string[]> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const rows = (await client.xinfo('GROUPS', redisNames().jobsStream).catch(() => [])) as unknown[][];
    return rows.map((r) => String(r[r.indexOf('name') + 1]));
  } finally {
    client.disconnect();
  }
}

/** GET /readyz of an executor on `port`: status and body. */
async function readyz(port: number): Promise<{ status: number; body: { why?: Record<string, string> } }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: (await r.json()) as { why?: Record<string, string> } };
}

describe('a data folder the job user cannot traverse', () => {
  it.skipIf(!existsSync(executor))(
    'the executor is not ready, says why in one line, takes no job; after `chmod o+x` it is ready by itself',
    async () => {
      const port = await freePort();
      const p = startServiceProcess(executor, {
        env: {
          EDGEFLEET_DATA_DIR: dataDir,
          EDGEFLEET_JOB_USER: USER,
          EDGEFLEET_REDIS_URL: redis.url,
          EDGEFLEET_PORT: String(port),
        },
      });
      try {
        await p.waitForOutput(/listening/);
        const before = await readyz(port);
        expect(before.status).toBe(503);
        expect(before.body.why?.dataFolder).toBe(expected());
        // The line is logged once, not a stack trace; the service did not exit.
        expect(p.output().split(expected()).length - 1).toBe(1);
        expect(p.output()).not.toMatch(/\n\s+at /);
        // No job is taken: the executor never joined the jobs stream's consumer group.
        expect(await fetchGroups()).not.toContain(GROUPS.executor);
        chmodSync(home, 0o711);
        await eventually(async () => (await readyz(port)).status === 200, {
          timeoutMs: 20_000,
          what: 'ready after chmod o+x',
        });
        await p.waitForOutput(/taking jobs/);
        await eventually(async () => (await fetchGroups()).includes(GROUPS.executor), {
          timeoutMs: 10_000,
          what: 'the executor consuming the jobs stream',
        });
        expect(await p.stop('SIGTERM')).toBe(0);
      } finally {
        chmodSync(home, 0o700);
        await p.stop('SIGKILL').catch(() => undefined);
      }
    },
  );

  it.skipIf(!existsSync(cli))(
    'local mode refuses to start with the same line, starting nothing',
    async () => {
      const p = startServiceProcess(cli, {
        args: ['local'],
        env: { EDGEFLEET_DATA_DIR: dataDir, EDGEFLEET_JOB_USER: USER },
      });
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(expected());
      expect(existsSync(join(dataDir, 'pids.json'))).toBe(false);
    },
  );
});
