// The receiver and a Redis that refuses writes (maxmemory reached, noeviction): polling stops, /readyz
// says why, and no SQS message is kept invisible in a retry loop. A real redis-server with a small
// maxmemory, and fauxqs.
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  type Emulator,
  eventually,
  logSink,
  type RedisServer,
  startEmulator,
  startRedisServer,
} from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisMemory, writesRefusedWhy } from '../src/core/redis-memory.js';
import {
  jobMessage,
  jobsInStream,
  queueCounts,
  type Receiver,
  send,
  sqsClient,
  startReceiver,
  unique,
} from './helpers.js';

let redisServer: RedisServer;
let emu: Emulator;
let redis: Redis;
let sqs: SQSClient;
const receivers: Receiver[] = [];
const FILL = 'fill';

beforeAll(async () => {
  [redisServer, emu] = await Promise.all([startRedisServer({ aof: false }), startEmulator()]);
  redis = redisServer.client();
  sqs = sqsClient(emu);
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await free();
});
afterAll(async () => {
  redis.disconnect();
  sqs.destroy();
  await Promise.all([emu.stop(), redisServer.stop()]);
});

/**
 * Stores 4 MiB, then sets maxmemory 1 MiB below what is used: every write is refused with OOM (under
 * noeviction; under volatile-lru too, as nothing has a TTL to evict).
 */
async function fill(policy: 'noeviction' | 'volatile-lru' = 'noeviction'): Promise<void> {
  const value = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 16; i++) await redis.rpush(FILL, value);
  const m = parseRedisMemory(await redis.info('memory'));
  await redis.config('SET', 'maxmemory-policy', policy);
  await redis.config('SET', 'maxmemory', String((m?.usedBytes ?? 0) - 1024 * 1024));
  await expect(redis.set('probe', '1')).rejects.toThrow(
    /^OOM command not allowed when used memory > 'maxmemory'/,
  );
}

async function free(): Promise<void> {
  await redis.del(FILL);
  await redis.config('SET', 'maxmemory', '0');
}

function queue(): { name: string; url: string } {
  const name = unique('q');
  return { name, url: emu.createQueue(name) };
}

describe('a Redis that refuses writes', () => {
  it('the receiver stops polling, says why in /readyz and in one log line, and resumes when memory frees', async () => {
    const sink = logSink('info');
    const q = queue();
    for (let i = 0; i < 3; i++) await send(sqs, q.url, JSON.stringify(jobMessage(unique(`oom${i}`))));
    await fill();
    const r = await startReceiver({ redis, sqs, queueUrls: [q.url], logger: sink.logger });
    receivers.push(r);
    const { app } = r.service;
    await eventually(() => sink.find((l) => l.msg === 'polling paused'), { what: 'polling paused' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not-ready', checks: { redisMemory: false } });
    expect(ready.json().why.redisMemory).toMatch(
      /^redis refuses writes: used_memory \d+ bytes > maxmemory \d+/,
    );
    // Several gate checks later (the poll loop and /readyz), still one line says why.
    for (let i = 0; i < 2; i++)
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect(sink.lines.filter((l) => l.msg === 'redis out of memory: taking no jobs')).toHaveLength(1);
    // Nothing was received: the messages stay visible to other devices.
    expect(await queueCounts(emu, q.name)).toEqual({ ready: 3, inflight: 0, delayed: 0 });
    expect(await jobsInStream(redis, r.names)).toHaveLength(0);

    await free();
    await eventually(async () => (await jobsInStream(redis, r.names)).length === 3, {
      what: 'jobs handed off',
    });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect(sink.find((l) => l.msg === 'redis accepts writes again: taking jobs')).toBeDefined();
  });

  it('a hand-off refused with OOM gives the message back to the queue at once instead of retrying it', async () => {
    const sink = logSink('info');
    const q = queue();
    for (let i = 0; i < 2; i++) await send(sqs, q.url, JSON.stringify(jobMessage(unique(`oomh${i}`))));
    // An evicting policy with nothing left to evict: the gate sees no refusal (it trusts the policy),
    // the hand-off meets OOM.
    await fill('volatile-lru');
    const r = await startReceiver({
      redis,
      sqs,
      queueUrls: [q.url],
      logger: sink.logger,
      poller: { visibilitySeconds: 300 },
    });
    receivers.push(r);
    await eventually(
      () => sink.find((l) => l.msg === 'polling paused' && l.why === 'redis refuses writes (out of memory)'),
      { what: 'paused on OOM' },
    );
    // Released with visibility 0, not left invisible for the 300 s asked on receive.
    await eventually(async () => (await queueCounts(emu, q.name)).inflight === 0, { what: 'released' });
    expect(sink.find((l) => l.msg === 'hand-off failed; retrying')).toBeUndefined();
    await free();
    await eventually(async () => (await jobsInStream(redis, r.names)).length === 2, {
      what: 'jobs handed off',
    });
    await eventually(async () => {
      const c = await queueCounts(emu, q.name);
      return c.ready + c.inflight === 0;
    });
  });

  it('knows when Redis refuses writes from INFO memory', () => {
    expect(writesRefusedWhy({ usedBytes: 10, maxBytes: 9, policy: 'noeviction' })).toMatch(/maxmemory 9/);
    expect(writesRefusedWhy({ usedBytes: 9, maxBytes: 9, policy: 'noeviction' })).toBeNull();
    expect(writesRefusedWhy({ usedBytes: 10, maxBytes: 0, policy: 'noeviction' })).toBeNull();
    expect(writesRefusedWhy({ usedBytes: 10, maxBytes: 9, policy: 'allkeys-lru' })).toBeNull();
    expect(parseRedisMemory('used_memory:123\r\nmaxmemory:456\r\nmaxmemory_policy:noeviction\r\n')).toEqual({
      usedBytes: 123,
      maxBytes: 456,
      policy: 'noeviction',
    });
    expect(parseRedisMemory('nothing')).toBeUndefined();
  });
});
