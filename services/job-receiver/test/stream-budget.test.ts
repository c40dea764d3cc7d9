// Streams held to a memory budget: processed entries go, oldest first, until the stream fits; an entry
// a consumer group has not read or not acknowledged never goes. The decisions (core/stream-budget.ts)
// and the trim against a real redis-server.
import { type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupPositions, trimStreamToBudget } from '../src/adapters/stream-trimmer.js';
import { loadConfig } from '../src/config.js';
import {
  compareStreamIds,
  entriesOverBudget,
  nextStreamId,
  processedBefore,
  scanChunk,
} from '../src/core/stream-budget.js';

describe('stream budget decisions', () => {
  it('orders ids numerically and steps to the next id', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('10-2', '10-10')).toBe(-1);
    expect(compareStreamIds('10-1', '10-1')).toBe(0);
    expect(nextStreamId('1796205089173-9')).toBe('1796205089173-10');
    expect(() => compareStreamIds('x', '1-0')).toThrow(/not a stream id/);
  });

  it('keeps everything some group has not processed', () => {
    expect(processedBefore([])).toBeNull();
    expect(processedBefore([{ lastDeliveredId: '5-0' }])).toBe('5-1');
    expect(processedBefore([{ lastDeliveredId: '5-0', oldestPendingId: '3-0' }])).toBe('3-0');
    expect(
      processedBefore([{ lastDeliveredId: '9-0' }, { lastDeliveredId: '7-0', oldestPendingId: '4-2' }]),
    ).toBe('4-2');
    expect(processedBefore([{ lastDeliveredId: '0-0' }])).toBe('0-1');
  });

  it('counts the entries over budget from the mean entry size', () => {
    expect(entriesOverBudget({ usageBytes: 1000, length: 10, budgetBytes: 2000 })).toBe(0);
    expect(entriesOverBudget({ usageBytes: 1000, length: 10, budgetBytes: 750 })).toBe(3);
    expect(entriesOverBudget({ usageBytes: 1000, length: 10, budgetBytes: 0 })).toBe(10);
    expect(entriesOverBudget({ usageBytes: 1000, length: 0, budgetBytes: 0 })).toBe(0);
    expect(scanChunk(2 ** 30, 1000)).toBe(1);
    expect(scanChunk(500_000, 1000)).toBe(1000);
  });
});

describe('stream budget settings', () => {
  it('defaults to 8 MiB per stream, checked every minute', () => {
    const c = loadConfig({});
    expect(c.streamMaxMiB).toBe(8);
    expect(c.streamTrimMs).toBe(60_000);
  });
  it.each([
    ['EDGEFLEET_STREAM_MAX_MIB', '0'],
    ['EDGEFLEET_STREAM_MAX_MIB', '-1'],
    ['EDGEFLEET_STREAM_MAX_MIB', '1e9'],
    ['EDGEFLEET_STREAM_TRIM_MS', '0'],
    ['EDGEFLEET_STREAM_TRIM_MS', 'soon'],
  ])('refuses %s=%s naming it', (name, v) => {
    expect(() => loadConfig({ [name]: v })).toThrow(new RegExp(name));
  });
});

describe('trimStreamToBudget (real Redis)', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer({ aof: false });
    redis = server.client();
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const body = 'x'.repeat(400);
  const fill = async (stream: string, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push((await redis.xadd(stream, '*', 'jobId', `job-${i}`, 'body', body)) as string);
    return ids;
  };

  it('trims processed entries until the stream fits, never one not yet acknowledged or read', async () => {
    const stream = 'budget:a';
    const ids = await fill(stream, 400);
    await redis.xgroup('CREATE', stream, 'g', '0');
    // The group reads 300 entries and acknowledges the first 250: 250 processed, 50 pending, 100 unread.
    await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 300, 'STREAMS', stream, '>');
    await redis.xack(stream, 'g', ...ids.slice(0, 250));
    const usage = Number(await redis.memory('USAGE', stream, 'SAMPLES', '0'));

    // A budget of 60 % of the stream: the oldest ~160 entries go (memory is freed a node at a time,
    // so a few more may), all processed, and the stream then fits.
    const budget = Math.floor(usage * 0.6);
    const part = await trimStreamToBudget(redis, stream, budget);
    expect(part.trimmed).toBeGreaterThanOrEqual(150);
    expect(part.trimmed).toBeLessThan(250);
    expect(part.held).toBeUndefined();
    expect(Number(await redis.memory('USAGE', stream, 'SAMPLES', '0'))).toBeLessThanOrEqual(budget);
    expect((await redis.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(ids.slice(part.trimmed));

    // A budget of nothing: only the processed entries go; the pending and unread ones stay.
    const none = await trimStreamToBudget(redis, stream, 1);
    expect(none.held).toMatch(/not processed yet/);
    const left = (await redis.xrange(stream, '-', '+')).map(([id]) => id);
    expect(left).toEqual(ids.slice(250));
    const pending = (await redis.xpending(stream, 'g')) as [number, string];
    expect(pending[0]).toBe(50);
    expect(pending[1]).toBe(ids[250]);
    // The unread ones are still delivered to the group.
    const unread = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1000, 'STREAMS', stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    expect(unread[0]?.[1].map(([id]) => id)).toEqual(ids.slice(300));
  });

  it('takes the slowest of several groups, and trims nothing without a group or within budget', async () => {
    const stream = 'budget:b';
    const ids = await fill(stream, 100);
    expect((await trimStreamToBudget(redis, stream, 1)).held).toMatch(/no consumer group/);
    await redis.xgroup('CREATE', stream, 'fast', '0');
    await redis.xgroup('CREATE', stream, 'slow', '0');
    await redis.xreadgroup('GROUP', 'fast', 'c', 'COUNT', 100, 'STREAMS', stream, '>');
    await redis.xack(stream, 'fast', ...ids);
    await redis.xreadgroup('GROUP', 'slow', 'c', 'COUNT', 40, 'STREAMS', stream, '>');
    await redis.xack(stream, 'slow', ...ids.slice(0, 40));
    expect(await groupPositions(redis, stream)).toEqual([
      { lastDeliveredId: ids[99] },
      { lastDeliveredId: ids[39] },
    ]);
    expect((await trimStreamToBudget(redis, stream, 2 ** 30)).trimmed).toBe(0);
    const r = await trimStreamToBudget(redis, stream, 1);
    expect(r.trimmed).toBe(40);
    expect((await redis.xrange(stream, '-', '+', 'COUNT', 1))[0]?.[0]).toBe(ids[40]);
    expect(await groupPositions(redis, 'budget:none')).toEqual([]);
  });
});
