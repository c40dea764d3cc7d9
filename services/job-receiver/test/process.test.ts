// The service as an operator runs it: a real process, a real Redis.
import { fileURLToPath } from 'node:url';
import { freePort, type RedisServer, startRedisServer, startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

describe('job-receiver process', () => {
  it('starts, answers /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, {
      env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: redis.url },
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

  it('reports not-ready while Redis is unreachable', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const p = startServiceProcess(entry, {
      env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: `redis://127.0.0.1:${deadPort}` },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await p.stop('SIGTERM')).toBe(0);
  });

  it('takes no job while the data disk is below the intake watermark, and says why', async () => {
    const redis = await startRedisServer();
    const c = redis.client();
    try {
      const port = await freePort();
      const p = startServiceProcess(entry, {
        env: {
          EDGEFLEET_PORT: String(port),
          EDGEFLEET_REDIS_URL: redis.url,
          EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES: String(1024 * 1024 * 1024),
        },
      });
      await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
      // The executor reports 100 MiB free.
      await c.hset('edgefleet:device:load', {
        freeDiskBytes: String(100 * 1024 * 1024),
        updatedAt: String(Date.now()),
      });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([
        503,
        {
          status: 'not-ready',
          checks: { redis: true, durable: true, disk: false, redisMemory: true },
          why: { disk: expect.stringMatching(/below EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES=1073741824/) },
        },
      ]);
      await p.waitForOutput(/below EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES=1073741824/);
      await c.hset('edgefleet:device:load', {
        freeDiskBytes: String(5 * 1024 * 1024 * 1024),
        updatedAt: String(Date.now()),
      });
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      c.disconnect();
      await redis.stop();
    }
  });

  it('holds the jobs stream to EDGEFLEET_STREAM_MAX_MIB: processed entries go, unprocessed ones stay', async () => {
    const redis = await startRedisServer();
    const c = redis.client();
    let p: ReturnType<typeof startServiceProcess> | undefined;
    try {
      // 4,000 entries of ~500 bytes (≈ 3 MiB), all read and acknowledged by the executor's group but
      // the last 10, which are delivered and pending, and 20 more nobody has read yet.
      const stream = 'edgefleet:stream:jobs';
      const body = 'x'.repeat(500);
      const ids: string[] = [];
      for (let i = 0; i < 4030; i += 10) {
        const m = c.multi();
        for (let k = i; k < i + 10; k++) m.xadd(stream, '*', 'jobId', `job-${k}`, 'body', body);
        for (const [, id] of (await m.exec()) ?? []) ids.push(id as string);
      }
      await c.xgroup('CREATE', stream, 'job-executor', '0');
      await c.xreadgroup('GROUP', 'job-executor', 'c', 'COUNT', 4010, 'STREAMS', stream, '>');
      for (let i = 0; i < 4000; i += 500) await c.xack(stream, 'job-executor', ...ids.slice(i, i + 500));
      expect(Number(await c.memory('USAGE', stream, 'SAMPLES', '0'))).toBeGreaterThan(2 * 2 ** 20);

      const port = await freePort();
      p = startServiceProcess(entry, {
        env: {
          EDGEFLEET_PORT: String(port),
          EDGEFLEET_REDIS_URL: redis.url,
          EDGEFLEET_STREAM_MAX_MIB: '1',
          EDGEFLEET_STREAM_TRIM_MS: '1000',
        },
      });
      await p.waitForOutput(/stream held to its memory budget/);
      expect(Number(await c.memory('USAGE', stream, 'SAMPLES', '0'))).toBeLessThanOrEqual(2 ** 20);
      const left = (await c.xrange(stream, '-', '+')).map(([id]) => id);
      expect(left.length).toBeGreaterThan(30);
      expect(left).toEqual(ids.slice(ids.length - left.length));
      const pending = (await c.xpending(stream, 'job-executor')) as [number, string];
      expect(pending).toEqual([10, ids[4000], ids[4009], [['c', '10']]]);
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      await p?.stop('SIGKILL');
      c.disconnect();
      await redis.stop();
    }
  });

  it('is not ready while Redis refuses writes for lack of memory, says why once, and recovers', async () => {
    const redis = await startRedisServer();
    const c = redis.client();
    try {
      const port = await freePort();
      const p = startServiceProcess(entry, {
        env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: redis.url },
      });
      await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
      const used = Number((await c.info('memory')).match(/^used_memory:(\d+)/m)?.[1]);
      await c.config('SET', 'maxmemory-policy', 'noeviction');
      await c.config('SET', 'maxmemory', String(used - 256 * 1024));
      await expect(c.set('probe', '1')).rejects.toThrow(/^OOM/);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, boolean>; why: Record<string, string> };
      expect(body.checks.redisMemory).toBe(false);
      expect(body.why.redisMemory).toMatch(/^redis refuses writes: used_memory \d+ bytes > maxmemory \d+/);
      await p.waitForOutput(/redis out of memory: taking no jobs/);
      await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(p.output().match(/redis out of memory: taking no jobs/g)).toHaveLength(1);
      await c.config('SET', 'maxmemory', '0');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      c.disconnect();
      await redis.stop();
    }
  });

  it('refuses hand-offs (not ready) when Redis does not persist every write, and says why', async () => {
    const volatile = await startRedisServer({ aof: false });
    try {
      const port = await freePort();
      const p = startServiceProcess(entry, {
        env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: volatile.url },
      });
      await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
      await p.waitForOutput(/writes are not durable: hand-offs refused/);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([
        503,
        { status: 'not-ready', checks: { redis: true, durable: false, disk: true, redisMemory: true } },
      ]);
      const submit = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          version: 1,
          kind: 'job',
          jobId: 'j1',
          code: { entrypoint: 'main.py' },
          inputs: [{ uri: 's3://b-1/main.py' }],
          output: { uri: 's3://b-1/out/' },
        }),
      });
      expect(submit.status).toBe(503);
      const openapi = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      expect(((await openapi.json()) as { openapi: string }).openapi).toBe('3.1.0');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('edgefleet_receiver_intake_total');
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      await volatile.stop();
    }
  });
});
