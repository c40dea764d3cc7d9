// The service as an operator runs it: a real process, a real Redis.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type RedisServer, startRedisServer, startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from './support/harness.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redis: RedisServer;
let dataDir: string;
const base = () => ({ EDGEFLEET_DATA_DIR: dataDir, EDGEFLEET_JOB_USER: 'ef-exec-proc' });
beforeAll(async () => {
  ensureUser('ef-exec-proc');
  dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-proc-'));
  chmodSync(dataDir, 0o755); // the job user must be able to enter it (checked at start)
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('job-executor process', () => {
  it('starts, answers /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, {
      env: { ...base(), EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: redis.url },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready once Redis answers (the connection is made after the HTTP server listens).
    await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.output()).toContain('"msg":"stopped"');
  });

  it('refuses to start on an invalid variable, naming it, without a stack trace', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_PORT: 'eighty' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_PORT: expected an integer/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('refuses to start with an unknown memory limit mode, naming the variable', async () => {
    const p = startServiceProcess(entry, { env: { ...base(), EDGEFLEET_MEMORY_LIMIT_MODE: 'swap' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_MEMORY_LIMIT_MODE/);
  });

  it('fails to start, saying why, when the job user does not exist', async () => {
    const p = startServiceProcess(entry, {
      env: { ...base(), EDGEFLEET_JOB_USER: 'no-such-user-xyz', EDGEFLEET_REDIS_URL: redis.url },
    });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/job user no-such-user-xyz does not exist/);
  });

  it('reports not-ready while Redis is unreachable', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const p = startServiceProcess(entry, {
      env: { ...base(), EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: `redis://127.0.0.1:${deadPort}` },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await p.stop('SIGTERM')).toBe(0);
  });
});
