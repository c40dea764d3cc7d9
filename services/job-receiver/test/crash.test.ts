// Crashes, as an operator would see them: the built service (`dist/main.js`) against fauxqs and a real
// redis-server with AOF (`appendfsync always`). Build first: `pnpm build`.
import { fileURLToPath } from 'node:url';
import { redisNames } from '@edgefleet/contracts';
import {
  type Emulator,
  eventually,
  freePort,
  type RedisServer,
  type ServiceProcess,
  startEmulator,
  startFaultProxy,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobMessage, jobsInStream, queueCounts, send, sqsClient, unique } from './helpers.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redisServer: RedisServer;
let emu: Emulator;
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  [redisServer, emu] = await Promise.all([
    startRedisServer({ aof: true, appendfsync: 'always' }),
    startEmulator(),
  ]);
});
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
});
afterAll(async () => {
  await Promise.all([emu.stop(), redisServer.stop()]);
});

async function receiver(queueUrl: string, prefix: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  const p = startServiceProcess(entry, {
    env: {
      ...emu.env(),
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redisServer.url,
      EDGEFLEET_REDIS_PREFIX: prefix,
      EDGEFLEET_QUEUE_URLS: queueUrl,
      EDGEFLEET_SQS_WAIT_SECONDS: '1',
      EDGEFLEET_SQS_VISIBILITY_SECONDS: '3',
      EDGEFLEET_ALLOWED_BUCKETS: 'fleet-bucket',
      EDGEFLEET_LOG_LEVEL: 'info',
      ...extra,
    },
  });
  procs.push(p);
  return { p, port, url: `http://127.0.0.1:${port}` };
}

const drained = async (name: string) => {
  const c = await queueCounts(emu, name);
  return c.ready + c.inflight + c.delayed === 0;
};

describe('crashes', () => {
  it('kill -9 of the receiver between the durable hand-off and DeleteMessage → after a restart, still exactly one job', async () => {
    const qName = unique('crash');
    const q = emu.createQueue(qName);
    const prefix = unique('k9');
    const names = redisNames(prefix);
    const sqs = sqsClient(emu);
    const id = unique('job');
    await send(sqs, q, JSON.stringify(jobMessage(id)));
    // SQS goes through a fault proxy that holds DeleteMessage: the receiver deletes only after a
    // durable hand-off, so a held delete means the job is in Redis and the message is not yet gone.
    // That is the moment to kill it.
    const proxy = await startFaultProxy(emu.endpoint);
    const heldDelete = proxy.addRule({
      match: (r) => String(r.headers['x-amz-target'] ?? '').startsWith('AmazonSQS.DeleteMessage'),
      action: { kind: 'hold' },
    });
    const first = await receiver(q, prefix, { AWS_ENDPOINT_URL: proxy.url });
    await heldDelete.waitForHits(1, 20_000);
    await first.p.stop('SIGKILL');
    await proxy.close();
    const redis = redisServer.client();
    try {
      // Handed off, not deleted.
      expect((await jobsInStream(redis, names)).map((e) => e.jobId)).toEqual([id]);
      expect(await queueCounts(emu, qName)).toMatchObject({ inflight: 1 });
      await receiver(q, prefix);
      // Redelivered after its visibility (3 s): found, deleted, not queued again.
      await eventually(() => drained(qName), { timeoutMs: 15_000, what: 'message deleted after restart' });
      expect((await jobsInStream(redis, names)).map((e) => e.jobId)).toEqual([id]);
      expect(await redis.hget(names.jobKey(id), 'state')).toBe('QUEUED');
    } finally {
      redis.disconnect();
      sqs.destroy();
    }
  });

  it('redis-server killed -9 right after a hand-off and restarted from its AOF → the job is still there', async () => {
    const qName = unique('aof');
    const q = emu.createQueue(qName);
    const prefix = unique('aof');
    const names = redisNames(prefix);
    const sqs = sqsClient(emu);
    const r = await receiver(q, prefix);
    await r.p.waitForHttp(`${r.url}/readyz`);
    const id = unique('job');
    await send(sqs, q, JSON.stringify(jobMessage(id)));
    // The message is deleted only after the hand-off is durable: kill Redis the moment it is gone.
    await eventually(() => drained(qName), { intervalMs: 5, what: 'message deleted' });
    await redisServer.kill('SIGKILL');
    await redisServer.restart();
    const redis = redisServer.client();
    try {
      expect((await jobsInStream(redis, names)).map((e) => e.jobId)).toEqual([id]);
      expect(await redis.hget(names.jobKey(id), 'state')).toBe('QUEUED');
      expect(await redis.zscore(names.jobIndex, id)).not.toBeNull();
      // The receiver recovers by itself.
      await eventually(async () => (await fetch(`${r.url}/readyz`)).status === 200, { what: 'ready again' });
    } finally {
      redis.disconnect();
      sqs.destroy();
    }
  });

  it('Redis stopped and restarted mid-run → not ready meanwhile, no job lost, none twice', async () => {
    const qName = unique('outage');
    const q = emu.createQueue(qName);
    const prefix = unique('out');
    const names = redisNames(prefix);
    const sqs = sqsClient(emu);
    const r = await receiver(q, prefix);
    await r.p.waitForHttp(`${r.url}/readyz`);
    const ids = Array.from({ length: 12 }, (_, i) => unique(`j${i}`));
    for (const id of ids.slice(0, 6)) await send(sqs, q, JSON.stringify(jobMessage(id)));
    await redisServer.kill('SIGKILL');
    await eventually(async () => (await fetch(`${r.url}/readyz`)).status === 503, { what: 'not ready' });
    for (const id of ids.slice(6)) await send(sqs, q, JSON.stringify(jobMessage(id)));
    await redisServer.restart();
    await eventually(() => drained(qName), { timeoutMs: 20_000, what: 'all messages handed off' });
    const redis = redisServer.client();
    try {
      const got = (await jobsInStream(redis, names)).map((e) => e.jobId);
      expect(got.sort()).toEqual([...ids].sort());
      await eventually(async () => (await fetch(`${r.url}/readyz`)).status === 200);
    } finally {
      redis.disconnect();
      sqs.destroy();
    }
  });

  it('SIGTERM during a 20 s long poll exits at once with code 0', async () => {
    const qName = unique('term');
    const q = emu.createQueue(qName);
    const r = await receiver(q, unique('term'), { EDGEFLEET_SQS_WAIT_SECONDS: '20' });
    await r.p.waitForHttp(`${r.url}/readyz`);
    await r.p.waitForOutput(/job-receiver listening/);
    const t0 = Date.now();
    expect(await r.p.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.p.output()).toContain('"clean":true');
  });
});
