import { LOG_CHUNK_MAX_BYTES, LOG_TAIL_FINISHED_MAXLEN, LOG_TAIL_MAXLEN } from '@edgefleet/contracts';
import { eventually, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogTail } from '../src/adapters/log-tail.js';

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer({ aof: false });
  redis = server.client();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('the live log tail', () => {
  it('is trimmed to its last 64 KiB when the job ends, with the retention set', async () => {
    const key = 'test:job:big:log';
    const tail = createLogTail({ redis, key, logger: pino({ level: 'silent' }) });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 2048; i++) tail.write(i % 2 ? 'stderr' : 'stdout', Buffer.from(line)); // 2 MiB
    tail.write('stdout', Buffer.from('the end\n'));
    // While the job runs the tail holds far more than the finished size.
    await eventually(async () => (await redis.xlen(key)) > 4 * LOG_TAIL_FINISHED_MAXLEN, {
      what: 'the running tail',
    });
    await tail.close();
    const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
    expect(entries.length).toBeLessThanOrEqual(LOG_TAIL_FINISHED_MAXLEN);
    expect(entries.length).toBeGreaterThan(0);
    const text = entries.map(([, f]) => f[3]).join('');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LOG_TAIL_FINISHED_MAXLEN * LOG_CHUNK_MAX_BYTES);
    expect(text.endsWith('the end\n')).toBe(true);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    // The memory Redis holds for the key is about the text kept, not the running tail's ~4 MiB.
    const bytes = Number(await redis.call('MEMORY', 'USAGE', key));
    expect(bytes).toBeLessThan(2 * LOG_TAIL_FINISHED_MAXLEN * LOG_CHUNK_MAX_BYTES);
    expect(LOG_TAIL_FINISHED_MAXLEN).toBeLessThan(LOG_TAIL_MAXLEN);
  });
});
