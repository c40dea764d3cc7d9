import {
  type DeadEntry,
  decodeEntry,
  fieldsToRecord,
  type ResultsEntry,
  ResultsEntry as ResultsSchema,
  redisNames,
} from '@edgefleet/contracts';
import { eventually, logSink, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type HandlerOutcome,
  jobDeadLetter,
  StreamConsumer,
  type StreamEntry,
  transitionJob,
} from '../src/index.js';

let server: RedisServer;
let redis: Redis;
let n = 0;
const consumers: StreamConsumer<unknown>[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop(2000)));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

type Value = { jobId: string; n: number };
const decode = (fields: string[]) => {
  const r = fieldsToRecord(fields);
  if (!r.jobId || !r.n || Number.isNaN(Number(r.n))) return { ok: false as const, detail: 'bad entry' };
  return { ok: true as const, value: { jobId: r.jobId, n: Number(r.n) } };
};

function setup(opts: {
  handle: (e: StreamEntry<Value>) => Promise<HandlerOutcome>;
  consumer?: string;
  maxDeliveries?: number;
  claimIdleMs?: number;
  stream?: string;
}) {
  const stream = opts.stream ?? `s${++n}`;
  const c = new StreamConsumer<Value>({
    redis,
    stream,
    group: 'g',
    consumer: opts.consumer ?? 'c1',
    deadStream: `${stream}:dead`,
    decode,
    handle: opts.handle,
    logger: logSink().logger,
    maxDeliveries: opts.maxDeliveries ?? 3,
    claimIdleMs: opts.claimIdleMs ?? 200,
    blockMs: 100,
  });
  consumers.push(c as StreamConsumer<unknown>);
  return { c, stream };
}

const pendingCount = async (stream: string) => ((await redis.xpending(stream, 'g')) as [number])[0];
const deadEntries = async (stream: string) =>
  (await redis.xrange(`${stream}:dead`, '-', '+')).map(
    ([, f]) => JSON.parse(fieldsToRecord(f).data!) as DeadEntry,
  );

describe('StreamConsumer', () => {
  it('handles new entries and acknowledges them', async () => {
    const seen: number[] = [];
    const { c, stream } = setup({ handle: async (e) => (seen.push(e.value.n), { kind: 'ack' }) });
    await c.ensureGroup();
    c.start();
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'jobId', `j${i}`, 'n', String(i));
    await eventually(() => seen.length === 5);
    await eventually(async () => (await pendingCount(stream)) === 0);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('does not acknowledge when the handler throws or asks for a retry, and delivers again', async () => {
    const deliveries: number[] = [];
    const { c, stream } = setup({
      handle: async (e) => {
        deliveries.push(e.deliveries);
        if (e.deliveries === 1) throw new Error('transient');
        if (e.deliveries === 2) return { kind: 'retry', reason: 'later' };
        return { kind: 'ack' };
      },
    });
    await c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    c.start();
    await eventually(() => deliveries.length >= 1);
    expect(await pendingCount(stream)).toBe(1);
    await eventually(() => deliveries.length === 3, { timeoutMs: 5000 });
    await eventually(async () => (await pendingCount(stream)) === 0);
    expect(deliveries).toEqual([1, 2, 3]);
  });

  it('re-reads its own pending entries after a restart', async () => {
    const stream = `s${++n}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = setup({
      stream,
      handle: async () => (await gate, { kind: 'retry', reason: 'stopped' }),
      claimIdleMs: 60_000,
    });
    await first.c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '7');
    first.c.start();
    await eventually(() => first.c.inflightCount === 1);
    release();
    await first.c.stop(2000);
    expect(await pendingCount(stream)).toBe(1);

    const seen: StreamEntry<Value>[] = [];
    const second = setup({
      stream,
      handle: async (e) => (seen.push(e), { kind: 'ack' }),
      claimIdleMs: 60_000,
    });
    second.c.start();
    await eventually(() => seen.length === 1);
    expect(seen[0]!.value.n).toBe(7);
    expect(seen[0]!.deliveries).toBe(2);
    await eventually(async () => (await pendingCount(stream)) === 0);
  });

  it('claims the entry of a consumer that died', async () => {
    const stream = `s${++n}`;
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    // A consumer that read the entry and was killed before acknowledging it.
    await redis.xreadgroup('GROUP', 'g', 'dead-consumer', 'STREAMS', stream, '>');
    const seen: StreamEntry<Value>[] = [];
    const { c } = setup({
      stream,
      consumer: 'survivor',
      handle: async (e) => (seen.push(e), { kind: 'ack' }),
      claimIdleMs: 150,
    });
    c.start();
    await eventually(() => seen.length === 1);
    expect(seen[0]!.deliveries).toBe(2);
    await eventually(async () => (await pendingCount(stream)) === 0);
    expect(c.stats.claimed).toBe(1);
  });

  it('does not let another consumer claim an entry that is still being handled (heartbeat)', async () => {
    const stream = `s${++n}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = setup({
      stream,
      consumer: 'a',
      claimIdleMs: 150,
      handle: async () => (await gate, { kind: 'ack' }),
    });
    await a.c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    a.c.start();
    await eventually(() => a.c.inflightCount === 1);
    const seenByB: number[] = [];
    const b = setup({
      stream,
      consumer: 'b',
      claimIdleMs: 150,
      handle: async (e) => (seenByB.push(e.value.n), { kind: 'ack' }),
    });
    b.c.start();
    // Give b several claim rounds (each 75 ms) while a is still working: observable as b's idle polls.
    await eventually(async () => {
      const [row] = (await redis.xpending(stream, 'g', '-', '+', 1)) as [string, string, number, number][];
      return (
        row !== undefined &&
        row[1] === 'a' &&
        b.c.stats.handled === 0 &&
        ((await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[]).length === 2
      );
    });
    // Let b run several claim rounds (one every 75 ms) spanning many claim idle times while a works.
    const rounds = b.c.stats.claimRounds;
    await eventually(() => b.c.stats.claimRounds >= rounds + 6, { timeoutMs: 5000 });
    expect(seenByB).toEqual([]);
    release();
    await eventually(async () => (await pendingCount(stream)) === 0);
  });

  it('dead-letters an entry delivered too often, with its reason, and acknowledges it', async () => {
    let calls = 0;
    const { c, stream } = setup({
      maxDeliveries: 2,
      handle: async () => (calls++, { kind: 'retry', reason: 'always failing' }),
    });
    await c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    c.start();
    const dead = await eventually(async () => (await deadEntries(stream))[0], { timeoutMs: 5000 });
    expect(dead).toMatchObject({
      reason: 'DEAD_LETTERED',
      deliveries: 3,
      jobId: 'j',
      fields: { jobId: 'j', n: '1' },
    });
    expect(calls).toBe(2);
    expect(await pendingCount(stream)).toBe(0);
  });

  it('dead-letters a malformed entry at once and keeps consuming', async () => {
    const seen: number[] = [];
    const { c, stream } = setup({ handle: async (e) => (seen.push(e.value.n), { kind: 'ack' }) });
    await c.ensureGroup();
    await redis.xadd(stream, '*', 'garbage', 'x');
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', 'NaN');
    await redis.xadd(stream, '*', 'jobId', 'k', 'n', '2');
    c.start();
    await eventually(() => seen.length === 1);
    await eventually(async () => (await deadEntries(stream)).length === 2);
    const dead = await deadEntries(stream);
    expect(dead.map((d) => d.reason)).toEqual(['MALFORMED_ENTRY', 'MALFORMED_ENTRY']);
    expect(dead[1]!.jobId).toBe('j');
    expect(await pendingCount(stream)).toBe(0);
  });

  it('handler outcome dead-letter is honoured with its code', async () => {
    const { c, stream } = setup({
      handle: async () => ({ kind: 'dead-letter', code: 'INPUT_NOT_FOUND', detail: 'no such key' }),
    });
    await c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    c.start();
    const dead = await eventually(async () => (await deadEntries(stream))[0]);
    expect(dead).toMatchObject({ reason: 'INPUT_NOT_FOUND', detail: 'no such key' });
  });

  it('jobDeadLetter ends the job FAILED and hands a terminal result to the uploader, atomically', async () => {
    const names = redisNames(`dl${++n}`);
    await transitionJob(redis, names, { jobId: 'j', to: 'QUEUED', by: 't', now: 1 });
    const stream = names.jobsStream;
    const c = new StreamConsumer<Value>({
      redis,
      stream,
      group: 'g',
      consumer: 'c',
      deadStream: names.deadStream,
      decode,
      handle: async () => ({ kind: 'retry', reason: 'boom' }),
      deadLetter: jobDeadLetter({ redis, names, stream, group: 'g', by: 'job-executor', node: 'n1' }),
      logger: logSink().logger,
      maxDeliveries: 1,
      claimIdleMs: 100,
      blockMs: 100,
    });
    consumers.push(c as StreamConsumer<unknown>);
    await c.ensureGroup();
    await redis.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    c.start();
    const results = await eventually(async () => {
      const r = await redis.xrange(names.resultsStream, '-', '+');
      return r.length ? r : undefined;
    });
    const entry = decodeEntry(ResultsSchema, results[0]![1]);
    expect(entry.ok && (entry.value as ResultsEntry)).toMatchObject({
      jobId: 'j',
      state: 'FAILED',
      reason: 'DEAD_LETTERED',
      hasFiles: false,
      node: 'n1',
    });
    expect(await redis.hget(names.jobKey('j'), 'state')).toBe('FAILED');
    expect(await redis.xlen(names.deadStream)).toBe(1);
    expect(((await redis.xpending(stream, 'g')) as [number])[0]).toBe(0);
  });

  it('survives Redis going away and coming back, losing nothing', async () => {
    const own = await startRedisServer();
    const client = own.client();
    client.on('error', () => {});
    const seen = new Set<number>();
    const stream = 'outage';
    const c = new StreamConsumer<Value>({
      redis: client,
      stream,
      group: 'g',
      consumer: 'c',
      deadStream: 'dead',
      decode,
      handle: async (e) => (seen.add(e.value.n), { kind: 'ack' }),
      logger: logSink().logger,
      claimIdleMs: 200,
      blockMs: 100,
    });
    await c.ensureGroup();
    c.start();
    await client.xadd(stream, '*', 'jobId', 'j', 'n', '1');
    await eventually(() => seen.has(1));
    await own.restart(); // kill -9 and start again from the AOF
    await eventually(async () => (await client.xadd(stream, '*', 'jobId', 'j', 'n', '2')) !== null, {
      timeoutMs: 10_000,
    });
    await eventually(() => seen.has(2), { timeoutMs: 10_000 });
    await c.stop(2000);
    client.disconnect();
    await own.stop();
  });
});
