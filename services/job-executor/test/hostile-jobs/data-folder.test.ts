// A data folder the job user cannot enter (under a 0700 home) would fail every job deep in a log.
// The executor refuses to start with one line naming the folder in the way and the fix; local mode
// (packages/cli, what scripts/start.sh runs) refuses with the same line before it starts anything.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedisServer, startServiceProcess } from '@edgefleet/testkit';
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

describe('a data folder the job user cannot traverse', () => {
  it.skipIf(!existsSync(executor))(
    'the executor refuses to start with one line naming it and the fix',
    async () => {
      const p = startServiceProcess(executor, {
        env: { EDGEFLEET_DATA_DIR: dataDir, EDGEFLEET_JOB_USER: USER, EDGEFLEET_REDIS_URL: redis.url },
      });
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(`job-executor: ${expected()}\n`);
      expect(p.output()).not.toMatch(/\n\s+at /);
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

  it.skipIf(!existsSync(executor))(
    'after `chmod o+x` on the folder in the way, the executor starts',
    async () => {
      chmodSync(home, 0o711);
      try {
        const p = startServiceProcess(executor, {
          env: {
            EDGEFLEET_DATA_DIR: dataDir,
            EDGEFLEET_JOB_USER: USER,
            EDGEFLEET_REDIS_URL: redis.url,
            EDGEFLEET_PORT: '0',
          },
        });
        await p.waitForOutput(/listening/);
        expect(await p.stop('SIGTERM')).toBe(0);
        expect(p.output()).not.toContain('is not reachable');
      } finally {
        chmodSync(home, 0o700);
      }
    },
  );
});
