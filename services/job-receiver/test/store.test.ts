// Job store details against a real Redis: index retention, the backlog count, durability detection,
// the log-tail contract; and the configuration schema.
import {
  decodeLogChunk,
  JobMessageV1,
  LOG_CHUNK_MAX_BYTES,
  LogChunk,
  logChunkFields,
  redisNames,
  splitLogText,
} from '@edgefleet/contracts';
import { ConfigError, transitionJob } from '@edgefleet/service-kit';
import { type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../src/adapters/job-store.js';
import { loadConfig } from '../src/config.js';
import { retentionCutoff } from '../src/core/retention.js';
import { jobMessage, unique } from './helpers.js';

let redisServer: RedisServer;
let redis: Redis;
beforeAll(async () => {
  redisServer = await startRedisServer();
  redis = redisServer.client();
});
afterAll(async () => {
  redis.disconnect();
  await redisServer.stop();
});

const store = (prefix = unique('s'), now?: () => number) =>
  new JobStore({ redis, names: redisNames(prefix), by: 'job-receiver', node: 'n', ...(now ? { now } : {}) });

describe('job index retention', () => {
  it('removes members older than the retention whose record has expired, keeps the rest', async () => {
    const day = 24 * 3600 * 1000;
    const t0 = Date.now() - 10 * day;
    const s = store(unique('ret'), () => t0);
    const names = s.names;
    const old = Array.from({ length: 5 }, (_, i) => unique(`old${i}`));
    for (const id of old) await s.handOff(JobMessageV1.parse(jobMessage(id)), 'http');
    // Two old records expired (terminal TTL ran out), three still exist (one terminal, two queued).
    await redis.del(names.jobKey(old[0] as string), names.jobKey(old[1] as string));
    await transitionJob(redis, names, { jobId: old[2] as string, to: 'CANCELED', by: 't', now: t0 });
    const fresh = store(names.prefix);
    const recent = unique('new');
    await fresh.handOff(JobMessageV1.parse(jobMessage(recent)), 'http');
    await redis.del(names.jobKey(recent)); // expired early, but not older than the retention: kept
    const removed = await fresh.trimIndex(retentionCutoff(Date.now(), 7 * 24 * 3600), 2);
    expect(removed).toBe(2);
    expect((await redis.zrange(names.jobIndex, 0, -1)).sort()).toEqual(
      [old[2], old[3], old[4], recent].sort(),
    );
    s.close();
    fresh.close();
  });
});

describe('backlog and durability', () => {
  it('counts entries not yet delivered to the executor group (all of them before the group exists)', async () => {
    const s = store();
    expect(await s.backlog(10)).toBe(0);
    for (let i = 0; i < 4; i++) await s.handOff(JobMessageV1.parse(jobMessage(unique(`b${i}`))), 'http');
    expect(await s.backlog(10)).toBe(4);
    expect(await s.backlog(2)).toBe(2);
    await redis.xgroup('CREATE', s.names.jobsStream, 'job-executor', '0');
    await redis.xreadgroup('GROUP', 'job-executor', 'c', 'COUNT', 3, 'STREAMS', s.names.jobsStream, '>');
    expect(await s.backlog(10)).toBe(1);
    s.close();
  });

  it('detects AOF with appendfsync always on the test server', async () => {
    expect((await store().durabilityInfo()).mode).toBe('aof-always');
  });
});

describe('log tail contract', () => {
  it('splits text into chunks within the byte limit without cutting characters, and round-trips fields', () => {
    const text = 'é€😀'.repeat(2000);
    const chunks = splitLogText('stdout', text);
    expect(chunks.map((c) => c.data).join('')).toBe(text);
    for (const c of chunks) {
      expect(Buffer.byteLength(c.data, 'utf8')).toBeLessThanOrEqual(LOG_CHUNK_MAX_BYTES);
      expect(LogChunk.safeParse(c).success).toBe(true);
      expect(decodeLogChunk(logChunkFields(c))).toEqual(c);
    }
    expect(decodeLogChunk(['stream', 'stdin', 'data', 'x'])).toBeNull();
    expect(decodeLogChunk(['stream', 'stdout'])).toBeNull();
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4100,
      queueUrls: [],
      sqsWaitSeconds: 20,
      sqsBatchSize: 10,
      sqsVisibilitySeconds: 30,
      maxBacklog: 20,
      requireSignature: false,
      requireDurability: true,
      retentionSeconds: 604_800,
    });
  });
  it('reads lists and names every bad variable', () => {
    const c = loadConfig({
      EDGEFLEET_QUEUE_URLS:
        'http://127.0.0.1:4566/000000000000/dev, http://127.0.0.1:4566/000000000000/fleet',
      EDGEFLEET_ALLOWED_BUCKETS: 'a-bucket,b-bucket',
    });
    expect(c.queueUrls).toHaveLength(2);
    expect(c.allowedBuckets).toEqual(['a-bucket', 'b-bucket']);
    const bad = () =>
      loadConfig({
        EDGEFLEET_SQS_WAIT_SECONDS: '30',
        EDGEFLEET_SQS_BATCH_SIZE: '11',
        EDGEFLEET_QUEUE_URLS: 'not a url',
        EDGEFLEET_REQUIRE_SIGNATURE: 'true',
      });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (e) {
      const vars = (e as ConfigError).problems.map((p) => p.variable);
      expect(vars).toEqual(
        expect.arrayContaining([
          'EDGEFLEET_SQS_WAIT_SECONDS',
          'EDGEFLEET_SQS_BATCH_SIZE',
          'EDGEFLEET_QUEUE_URLS',
          'EDGEFLEET_SIGNING_SECRET',
        ]),
      );
    }
  });
  it('never echoes the signing secret', () => {
    try {
      loadConfig({ EDGEFLEET_SIGNING_SECRET: 'short-secret' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('EDGEFLEET_SIGNING_SECRET');
      expect((e as Error).message).not.toContain('short-secret');
    }
  });
});
