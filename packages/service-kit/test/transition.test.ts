import {
  allowedFrom,
  decodeJobRecord,
  isTerminal,
  JOB_STATES,
  type JobState,
  redisNames,
  TRANSITIONS,
} from '@edgefleet/contracts';
import { type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionJob } from '../src/index.js';

let server: RedisServer;
let redis: Redis;
let n = 0;
const fresh = () => redisNames(`t${++n}`);
beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

async function record(names: ReturnType<typeof redisNames>, jobId: string) {
  const r = decodeJobRecord(
    await redis.hgetall(names.jobKey(jobId)),
    await redis.lrange(names.historyKey(jobId), 0, -1),
  );
  if (!r.ok) throw new Error(r.error);
  return r.record;
}

/** Drives a job along a path of states, returning the names used. */
async function walk(path: JobState[]) {
  const names = fresh();
  for (const to of path) {
    const r = await transitionJob(redis, names, { jobId: 'j', to, by: 'test', now: 1000 });
    expect(r.ok, `→ ${to}`).toBe(true);
  }
  return names;
}

describe('transitionJob', () => {
  it('creates a record with history and moves it along the happy path', async () => {
    const names = await walk(['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING', 'SUCCEEDED']);
    const rec = await record(names, 'j');
    expect(rec.state).toBe('SUCCEEDED');
    expect(rec.history.map((h) => h.state)).toEqual([
      'QUEUED',
      'DOWNLOADING',
      'INSTALLING',
      'RUNNING',
      'UPLOADING',
      'SUCCEEDED',
    ]);
    expect(await redis.ttl(names.jobKey('j'))).toBeGreaterThan(0);
    expect(await redis.zscore(names.jobIndex, 'j')).toBe('1000');
  });

  it('allows exactly the moves of the transition table, from every state (exhaustive)', async () => {
    // Paths that reach each state from NEW.
    const reach: Record<JobState, JobState[]> = {
      QUEUED: ['QUEUED'],
      DOWNLOADING: ['QUEUED', 'DOWNLOADING'],
      INSTALLING: ['QUEUED', 'DOWNLOADING', 'INSTALLING'],
      RUNNING: ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING'],
      UPLOADING: ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING'],
      SUCCEEDED: ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING', 'SUCCEEDED'],
      FAILED: ['QUEUED', 'FAILED'],
      TIMED_OUT: ['QUEUED', 'DOWNLOADING', 'TIMED_OUT'],
      CANCELED: ['CANCELED'],
      REJECTED: ['REJECTED'],
    };
    for (const from of JOB_STATES) {
      for (const to of JOB_STATES) {
        const names = await walk(reach[from]);
        const r = await transitionJob(redis, names, { jobId: 'j', to, by: 'test', now: 2000 });
        const legal = TRANSITIONS[from].includes(to);
        expect(r.ok, `${from} → ${to}`).toBe(legal);
        const rec = await record(names, 'j');
        expect(rec.state).toBe(legal ? to : from);
        // A creating move (allowed from NEW) on an existing record reports EXISTS: the dedupe answer.
        const expected = allowedFrom(to).includes('NEW')
          ? 'EXISTS'
          : isTerminal(from)
            ? 'TERMINAL'
            : 'ILLEGAL';
        if (!r.ok) expect(r.status, `${from} → ${to}`).toBe(expected);
      }
    }
  });

  it('refuses to create a record twice (the dedupe marker) and to move a missing one', async () => {
    const names = fresh();
    expect((await transitionJob(redis, names, { jobId: 'j', to: 'QUEUED', by: 't', now: 1 })).ok).toBe(true);
    expect(await transitionJob(redis, names, { jobId: 'j', to: 'QUEUED', by: 't', now: 1 })).toEqual({
      ok: false,
      status: 'EXISTS',
      current: 'QUEUED',
    });
    expect(await transitionJob(redis, names, { jobId: 'k', to: 'DOWNLOADING', by: 't', now: 1 })).toEqual({
      ok: false,
      status: 'NOT_FOUND',
      current: null,
    });
  });

  it('performs its side effects only when the move is allowed, all in one step', async () => {
    const names = fresh();
    const stream = `${names.prefix}:s`;
    const first = await transitionJob(redis, names, {
      jobId: 'j',
      to: 'QUEUED',
      by: 't',
      now: 1,
      xadd: [{ stream, fields: ['jobId', 'j'] }],
      set: { source: 'sqs' },
    });
    expect(first.ok && first.streamIds.length).toBe(1);
    const dup = await transitionJob(redis, names, {
      jobId: 'j',
      to: 'QUEUED',
      by: 't',
      now: 1,
      xadd: [{ stream, fields: ['jobId', 'j'] }],
    });
    expect(dup.ok).toBe(false);
    expect(await redis.xlen(stream)).toBe(1);
    expect((await record(names, 'j')).source).toBe('sqs');
  });

  it('acknowledges and publishes atomically with the move', async () => {
    const names = fresh();
    const stream = `${names.prefix}:jobs`;
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const id = await redis.xadd(stream, '*', 'jobId', 'j');
    await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>');
    await walk(['QUEUED']); // unrelated prefix: no effect
    await transitionJob(redis, names, { jobId: 'j', to: 'QUEUED', by: 't', now: 1 });
    const r = await transitionJob(redis, names, {
      jobId: 'j',
      to: 'CANCELED',
      by: 't',
      now: 2,
      reason: 'CANCELED_BY_REQUEST',
      xack: [{ stream, group: 'g', ids: [id!] }],
    });
    expect(r.ok).toBe(true);
    const pending = (await redis.xpending(stream, 'g')) as [number];
    expect(pending[0]).toBe(0);
    const rec = await record(names, 'j');
    expect(rec).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' });
  });

  it('a guard-only call sets fields without changing state', async () => {
    const names = await walk(['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING']);
    const r = await transitionJob(redis, names, {
      jobId: 'j',
      from: ['RUNNING'],
      by: 't',
      now: 5,
      set: { cancelRequested: '1' },
    });
    expect(r.ok).toBe(true);
    const rec = await record(names, 'j');
    expect(rec).toMatchObject({ state: 'RUNNING', cancelRequested: true });
    expect(rec.history).toHaveLength(4);
  });

  it('lets exactly one of many concurrent attempts win', async () => {
    const names = await walk(['QUEUED']);
    const clients = Array.from({ length: 8 }, () => server.client());
    const results = await Promise.all(
      clients.flatMap((c, i) => [
        transitionJob(c, names, { jobId: 'j', to: 'DOWNLOADING', from: ['QUEUED'], by: `e${i}`, now: 3 }),
        transitionJob(c, names, { jobId: 'j', to: 'CANCELED', from: ['QUEUED'], by: `r${i}`, now: 3 }),
      ]),
    );
    for (const c of clients) c.disconnect();
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const rec = await record(names, 'j');
    expect(rec.history).toHaveLength(2);
  });

  it('concurrent creations of one job leave one record and one stream entry', async () => {
    const names = fresh();
    const stream = `${names.prefix}:jobs`;
    const clients = Array.from({ length: 10 }, () => server.client());
    const results = await Promise.all(
      clients.map((c) =>
        transitionJob(c, names, {
          jobId: 'j',
          to: 'QUEUED',
          by: 'r',
          now: 1,
          xadd: [{ stream, fields: ['jobId', 'j'] }],
        }),
      ),
    );
    for (const c of clients) c.disconnect();
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await redis.xlen(stream)).toBe(1);
  });
});
