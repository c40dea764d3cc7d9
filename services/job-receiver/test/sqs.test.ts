// SQS → Redis against fauxqs and a real redis-server: exactly-once hand-off, rejections, cancels,
// back-pressure, the visibility heartbeat and shutdown.
import {
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type JobRecord, redisNames } from '@edgefleet/contracts';
import { transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  logSink,
  type RedisServer,
  startEmulator,
  startFaultProxy,
  startRedisServer,
} from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsPoller } from '../src/adapters/sqs-poller.js';
import { signBody } from '../src/core/signature.js';
import { malformedCorpus, SECRET } from './corpus.js';
import {
  jobMessage,
  jobsInStream,
  queueCounts,
  type Receiver,
  resultsInStream,
  send,
  sqsClient,
  startPoller,
  startReceiver,
  unique,
  viaJobApi,
} from './helpers.js';

let redisServer: RedisServer;
let emu: Emulator;
let redis: Redis;
let sqs: SQSClient;
const sink = logSink('info');
const receivers: Receiver[] = [];
const pollers: SqsPoller[] = [];

beforeAll(async () => {
  [redisServer, emu] = await Promise.all([startRedisServer(), startEmulator()]);
  redis = redisServer.client();
  redis.setMaxListeners(100);
  sqs = sqsClient(emu);
});
afterAll(async () => {
  await Promise.all([...pollers.map((p) => p.close()), ...receivers.map((r) => r.close())]);
  redis.disconnect();
  sqs.destroy();
  await Promise.all([emu.stop(), redisServer.stop()]);
});

function queue(attributes?: Record<string, string>): { name: string; url: string } {
  const name = unique('q');
  return { name, url: emu.createQueue(name, attributes) };
}

async function receiver(
  opts: Omit<Parameters<typeof startReceiver>[0], 'redis' | 'sqs' | 'logger'> & { sqs?: SQSClient },
): Promise<Receiver> {
  const r = await startReceiver({ redis, sqs, logger: sink.logger, ...opts });
  receivers.push(r);
  return r;
}

/** The poller alone, on the test's SQS client (closed after the file). */
function poller(opts: Omit<Parameters<typeof startPoller>[0], 'sqs' | 'logger'>): SqsPoller {
  const p = startPoller({ sqs, logger: sink.logger, ...opts });
  pollers.push(p);
  return p;
}

const record = async (r: Receiver, jobId: string): Promise<JobRecord | null> => r.get(jobId);

describe('hand-off', () => {
  it('N messages in → N jobs in the stream; duplicates and redeliveries add nothing; the queue drains', async () => {
    const q = queue();
    const ids = Array.from({ length: 30 }, (_, i) => unique(`job${i}`));
    // Every message twice (a duplicate send), in batches of 10.
    const bodies = [...ids, ...ids].map((id) => JSON.stringify(jobMessage(id)));
    for (let i = 0; i < bodies.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: q.url,
          Entries: bodies.slice(i, i + 10).map((b, k) => ({ Id: `m${k}`, MessageBody: b })),
        }),
      );
    const r = await receiver({ queueUrls: [q.url] });
    await eventually(
      async () => (await queueCounts(emu, q.name)).ready + (await queueCounts(emu, q.name)).inflight === 0,
      {
        timeoutMs: 15_000,
        what: 'queue drained',
      },
    );
    const entries = await jobsInStream(redis, r.names);
    expect(entries.map((e) => e.jobId).sort()).toEqual([...ids].sort());
    expect(new Set(entries.map((e) => e.jobId)).size).toBe(ids.length);
    for (const e of entries) expect(e.source).toBe('sqs');
    const rec = await record(r, ids[0] as string);
    expect(rec?.state).toBe('QUEUED');
    expect(rec?.history.map((h) => h.state)).toEqual(['QUEUED']);
    expect(await redis.zcard(r.names.jobIndex)).toBe(ids.length);
  });

  it('a message redelivered after a hand-off whose delete was lost is only deleted', async () => {
    const q = queue();
    const id = unique('redelivered');
    const body = JSON.stringify(jobMessage(id));
    await send(sqs, q.url, body);
    // A previous receiver handed it off and died before DeleteMessage: take it with visibility 0 so it
    // comes straight back, and hand it off through the job API (the same path into the stream).
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.url, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
    );
    expect(got.Messages?.length).toBe(1);
    const prefix = unique('p');
    const first = await startReceiver({ redis, sqs, logger: sink.logger, prefix, queueUrls: [] });
    expect((await first.submit(body)).body).toMatchObject({ outcome: 'queued' });
    await first.close();
    const r = await receiver({ queueUrls: [q.url], prefix });
    await eventually(
      async () => (await queueCounts(emu, q.name)).ready + (await queueCounts(emu, q.name)).inflight === 0,
      {
        what: 'redelivered message deleted',
      },
    );
    expect((await jobsInStream(redis, r.names)).length).toBe(1);
    expect(
      sink.find((l) => l.jobId === id && l.msg === 'duplicate job message: record exists'),
    ).toBeDefined();
  });
});

describe('rejections', () => {
  it('every malformed body gets its reason; notifiable ones are REJECTED with a results entry and deleted; the rest go to the DLQ; the loop stays alive', async () => {
    const dlq = queue();
    const redrive = {
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${dlq.name}`,
        maxReceiveCount: 1,
      }),
    };
    const plainQ = queue(redrive);
    const signedQ = queue(redrive);
    const prefix = unique('rej');
    const corpus = malformedCorpus(prefix);
    for (const c of corpus) await send(sqs, c.signed ? signedQ.url : plainQ.url, c.body, c.signature);
    const names = redisNames(prefix);
    const plain = await receiver({ queueUrls: [plainQ.url], prefix });
    const signed = await receiver({
      queueUrls: [signedQ.url],
      prefix,
      policy: { requireSignature: true, signingSecret: SECRET },
    });
    const unusable = corpus.filter((c) => !c.jobId);
    await eventually(async () => (await queueCounts(emu, dlq.name)).ready === unusable.length, {
      timeoutMs: 15_000,
      what: `${unusable.length} unusable bodies in the DLQ`,
    });
    for (const c of corpus.filter((x) => x.jobId)) {
      const rec = await eventually(() => plain.get(c.jobId as string), { what: c.name });
      expect({ name: c.name, state: rec.state, reason: rec.reason }).toEqual({
        name: c.name,
        state: 'REJECTED',
        reason: c.code,
      });
    }
    const results = await resultsInStream(redis, names);
    expect(results.length).toBe(corpus.length - unusable.length);
    for (const r of results)
      expect(r).toMatchObject({ event: 'terminal', state: 'REJECTED', hasFiles: false });
    expect(await jobsInStream(redis, names)).toEqual([]);
    await eventually(
      async () =>
        (await queueCounts(emu, plainQ.name)).ready + (await queueCounts(emu, plainQ.name)).inflight === 0,
    );
    // Logged by hash, counted.
    const hashed = sink.lines.filter(
      (l) => l.msg === 'message without a usable jobId: left to the dead-letter policy',
    );
    expect(hashed.length).toBeGreaterThanOrEqual(unusable.length);
    for (const l of hashed) expect(String(l.bodyHash)).toMatch(/^sha256:/);
    // Counted by the receiver that took each body: the two together.
    const invalidJson = (text: string) =>
      Number(
        text.match(
          /^edgefleet_receiver_unusable_total\{code="INVALID_JSON",service="job-receiver"} (\d+)$/m,
        )?.[1] ?? 0,
      );
    expect(invalidJson(await plain.metrics()) + invalidJson(await signed.metrics())).toBe(3);
    // Still alive: a valid job goes through, on both queues (signed on the signed one).
    const okPlain = `${prefix}-alive-1`;
    const okSigned = `${prefix}-alive-2`;
    await send(sqs, plainQ.url, JSON.stringify(jobMessage(okPlain)));
    const signedBody = JSON.stringify(jobMessage(okSigned));
    await send(sqs, signedQ.url, signedBody, signBody(signedBody, SECRET));
    await eventually(
      async () => (await plain.state(okPlain)) === 'QUEUED' && (await plain.state(okSigned)) === 'QUEUED',
    );
    expect(sink.text()).not.toContain(SECRET);
  });
});

describe('signatures required', () => {
  it('an unsigned message claims no job id: unsigned, forged and unsigned-cancel first, then the signed job with the same id is queued and its message deleted; the others go to the DLQ', async () => {
    const dlq = queue();
    const q = queue({
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${dlq.name}`,
        maxReceiveCount: 1,
      }),
    });
    const id = unique('claimed');
    // Whoever can write to the queue sends these first, naming the id of a real job.
    const forged = JSON.stringify(jobMessage(id, { env: { FORGED: '1' } }));
    await send(sqs, q.url, forged);
    await send(sqs, q.url, forged, 'b'.repeat(64));
    await send(sqs, q.url, JSON.stringify({ version: 1, kind: 'cancel', jobId: id }));
    const r = await receiver({
      queueUrls: [q.url],
      policy: { requireSignature: true, signingSecret: SECRET },
    });
    await eventually(async () => (await queueCounts(emu, dlq.name)).ready === 3, {
      timeoutMs: 15_000,
      what: 'the three unauthenticated messages in the DLQ',
    });
    // Nothing recorded or announced under the claimed id.
    expect(await record(r, id)).toBeNull();
    expect(await resultsInStream(redis, r.names)).toEqual([]);
    const refused = sink.lines.filter(
      (l) =>
        l.claimedJobId === id && l.msg === 'message without a usable jobId: left to the dead-letter policy',
    );
    expect(refused.map((l) => l.code).sort()).toEqual([
      'SIGNATURE_INVALID',
      'SIGNATURE_MISSING',
      'SIGNATURE_MISSING',
    ]);
    // The real job, signed, arrives afterwards: queued as itself, its message deleted.
    const body = JSON.stringify(jobMessage(id));
    await send(sqs, q.url, body, signBody(body, SECRET));
    await eventually(async () => (await record(r, id))?.state === 'QUEUED', { what: 'signed job queued' });
    await eventually(
      async () => (await queueCounts(emu, q.name)).ready + (await queueCounts(emu, q.name)).inflight === 0,
      { what: 'signed message deleted' },
    );
    const entries = await jobsInStream(redis, r.names);
    expect(entries.map((e) => [e.jobId, e.message.env])).toEqual([[id, {}]]);
    expect((await queueCounts(emu, dlq.name)).ready).toBe(3);
  });
});

describe('cancel', () => {
  it('before the job arrives: a CANCELED record; the later job message is deleted and never queued', async () => {
    const q = queue();
    const r = await receiver({ queueUrls: [q.url] });
    const id = unique('cancel-before');
    await send(
      sqs,
      q.url,
      JSON.stringify({ version: 1, kind: 'cancel', jobId: id, reason: 'changed my mind' }),
    );
    await eventually(async () => (await r.state(id)) === 'CANCELED');
    await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    await eventually(
      async () => (await queueCounts(emu, q.name)).ready + (await queueCounts(emu, q.name)).inflight === 0,
    );
    await eventually(() =>
      sink.find((l) => l.jobId === id && l.msg === 'duplicate job message: record exists'),
    );
    expect(await jobsInStream(redis, r.names)).toEqual([]);
    const results = await resultsInStream(redis, r.names);
    expect(results).toEqual([
      expect.objectContaining({ jobId: id, state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' }),
    ]);
  });

  it('while queued (after the hand-off): CANCELED with a terminal results entry', async () => {
    const q = queue();
    const r = await receiver({ queueUrls: [q.url] });
    const id = unique('cancel-queued');
    await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    await eventually(async () => (await r.state(id)) === 'QUEUED');
    await send(sqs, q.url, JSON.stringify({ version: 1, kind: 'cancel', jobId: id }));
    await eventually(async () => (await r.state(id)) === 'CANCELED');
    const rec = await r.get(id);
    expect(rec?.history.map((h) => h.state)).toEqual(['QUEUED', 'CANCELED']);
    expect(rec?.cancelRequested).toBe(true);
    expect((await resultsInStream(redis, r.names)).map((x) => x.state)).toEqual(['CANCELED']);
  });

  it('while running: cancelRequested and a ControlMessage on the control channel, state unchanged', async () => {
    const q = queue();
    const r = await receiver({ queueUrls: [q.url] });
    const id = unique('cancel-running');
    await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    await eventually(async () => (await r.state(id)) === 'QUEUED');
    // The executor takes it.
    await transitionJob(redis, r.names, {
      jobId: id,
      to: 'DOWNLOADING',
      by: 'job-executor',
      now: Date.now(),
    });
    const sub = redisServer.client();
    const heard: string[] = [];
    sub.on('message', (_ch, m) => heard.push(m));
    await sub.subscribe(r.names.controlChannel);
    await send(sqs, q.url, JSON.stringify({ version: 1, kind: 'cancel', jobId: id }));
    await eventually(() => heard.length > 0, { what: 'control message' });
    sub.disconnect();
    expect(JSON.parse(heard[0] as string)).toMatchObject({ kind: 'cancel', jobId: id });
    const rec = await r.get(id);
    expect(rec).toMatchObject({ state: 'DOWNLOADING', cancelRequested: true });
    expect(await resultsInStream(redis, r.names)).toEqual([]);
  });

  it('after the job ended: nothing changes', async () => {
    const r = await receiver({ queueUrls: [] });
    const id = unique('cancel-after');
    expect((await r.submit(JSON.stringify(jobMessage(id)))).body).toMatchObject({ outcome: 'queued' });
    for (const to of ['DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING', 'SUCCEEDED'] as const)
      await transitionJob(redis, r.names, { jobId: id, to, by: 'test', now: Date.now() });
    const out = await r.submit(JSON.stringify({ version: 1, kind: 'cancel', jobId: id }));
    expect(out).toMatchObject({ status: 409, body: { outcome: 'already-terminal', state: 'SUCCEEDED' } });
    expect((await r.get(id))?.cancelRequested).toBe(false);
  });

  it('racing the hand-off (job and cancel in one batch, 10 times): always CANCELED, never queued twice', async () => {
    const q = queue();
    const ids = Array.from({ length: 10 }, (_, i) => unique(`race${i}`));
    for (const id of ids)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: q.url,
          Entries: [
            { Id: 'job', MessageBody: JSON.stringify(jobMessage(id)) },
            { Id: 'cancel', MessageBody: JSON.stringify({ version: 1, kind: 'cancel', jobId: id }) },
          ],
        }),
      );
    const r = await receiver({ queueUrls: [q.url] });
    for (const id of ids) await eventually(async () => (await r.state(id)) === 'CANCELED', { what: id });
    const entries = await jobsInStream(redis, r.names);
    expect(entries.length).toBeLessThanOrEqual(ids.length);
    expect(new Set(entries.map((e) => e.jobId)).size).toBe(entries.length);
    expect((await resultsInStream(redis, r.names)).filter((x) => x.state === 'CANCELED').length).toBe(
      ids.length,
    );
  });
});

describe('flow control', () => {
  it('stops polling at the backlog limit and resumes when the executor takes jobs', async () => {
    const q = queue();
    for (let i = 0; i < 8; i++) await send(sqs, q.url, JSON.stringify(jobMessage(unique(`bp${i}`))));
    const r = await receiver({ queueUrls: [q.url], poller: { maxBacklog: 3 } });
    await eventually(async () => (await jobsInStream(redis, r.names)).length === 3);
    await eventually(() => sink.find((l) => l.msg === 'polling paused' && l.why === 'backlog at limit'));
    expect(await queueCounts(emu, q.name)).toMatchObject({ ready: 5, inflight: 0 });
    // The executor's group reads two entries: two more may come in.
    await redis.xgroup('CREATE', r.names.jobsStream, 'job-executor', '0');
    await redis.xreadgroup('GROUP', 'job-executor', 'exec-1', 'COUNT', 2, 'STREAMS', r.names.jobsStream, '>');
    await eventually(async () => (await jobsInStream(redis, r.names)).length === 5);
    await eventually(async () => /^edgefleet_receiver_backlog\{[^}]*\} 3$/m.test(await r.metrics()), {
      what: 'backlog 3',
    });
  });

  it('extends the visibility of a message while it is handled (heartbeat)', async () => {
    const q = queue();
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const prefix = unique('hb');
    const inner = await startReceiver({ redis, sqs, logger: sink.logger, prefix, queueUrls: [] });
    const intake = viaJobApi(inner);
    poller({
      queueUrls: [q.url],
      visibilitySeconds: 3,
      handle: async (i) => {
        await gate;
        return intake(i);
      },
    });
    await send(sqs, q.url, JSON.stringify(jobMessage(unique('hb'))));
    const inspect = async () => {
      const res = await fetch(`${emu.endpoint}/_fauxqs/queues/${q.name}`);
      const j = (await res.json()) as { messages: { inflight: { visibilityDeadline: number }[] } };
      return j.messages.inflight[0]?.visibilityDeadline;
    };
    const first = await eventually(inspect, { what: 'in flight' });
    // The heartbeat runs every second (a third of 3 s) and pushes the deadline out.
    await eventually(async () => ((await inspect()) ?? 0) > first, {
      timeoutMs: 5000,
      what: 'deadline extended',
    });
    release();
    await eventually(async () => (await jobsInStream(redis, inner.names)).length === 1);
  });

  it('a hand-off that outlives the visibility (no heartbeat) cannot queue the job twice', async () => {
    const q = queue();
    const prefix = unique('outlive');
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let entered = 0;
    const inner = await startReceiver({ redis, sqs, logger: sink.logger, prefix, queueUrls: [] });
    // Poller A is stuck in its hand-off, and its heartbeat never fires.
    const intake = viaJobApi(inner);
    poller({
      queueUrls: [q.url],
      visibilitySeconds: 3,
      heartbeatMs: 60_000,
      handle: async (i) => {
        entered++;
        await gate;
        return intake(i);
      },
    });
    const id = unique('outlive');
    await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    await eventually(() => entered === 1, { what: 'A holds the message' });
    // After 3 s the message is visible again and receiver B hands it off.
    const b = await receiver({ queueUrls: [q.url], prefix });
    await eventually(async () => (await b.state(id)) === 'QUEUED', {
      timeoutMs: 8000,
      what: 'B queued it',
    });
    release();
    await eventually(
      () => sink.find((l) => l.jobId === id && l.msg === 'duplicate job message: record exists'),
      {
        what: 'A found the record',
      },
    );
    expect((await jobsInStream(redis, inner.names)).map((e) => e.jobId)).toEqual([id]);
  });

  it('on close: an aborted long poll returns at once; a message stuck in a retry goes back to the queue', async () => {
    const q = queue();
    let calls = 0;
    const r = startPoller({
      sqs,
      logger: sink.logger,
      queueUrls: [q.url],
      waitSeconds: 20,
      handle: async () => {
        calls++;
        throw new Error('redis down (simulated)');
      },
    });
    await send(sqs, q.url, JSON.stringify(jobMessage(unique('stuck'))));
    await eventually(() => calls >= 2, { what: 'retrying' });
    const t0 = Date.now();
    await r.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await queueCounts(emu, q.name)).toMatchObject({ ready: 1, inflight: 0 });
    expect(sink.find((l) => l.msg === 'message released on shutdown')).toBeDefined();

    const idle = queue();
    const r2 = await startReceiver({
      redis,
      sqs,
      logger: sink.logger,
      queueUrls: [idle.url],
      poller: { waitSeconds: 20 },
    });
    await eventually(async () => (await sqs.send(new ListQueuesCommand({}))).QueueUrls !== undefined);
    const t1 = Date.now();
    await r2.close();
    expect(Date.now() - t1).toBeLessThan(2000);
  });

  it('a message caught by an aborted long poll is back within the receive visibility', async () => {
    const q = queue();
    const prefix = unique('abort');
    const spy = sqsClient(emu);
    const original = spy.send.bind(spy);
    let receives = 0;
    spy.send = ((command: Parameters<typeof original>[0], options?: Parameters<typeof original>[1]) => {
      if (command instanceof ReceiveMessageCommand) receives++;
      return original(command, options);
    }) as typeof spy.send;
    const a = await startReceiver({
      redis,
      sqs: spy,
      logger: sink.logger,
      prefix,
      queueUrls: [q.url],
      poller: { waitSeconds: 20, visibilitySeconds: 3 },
    });
    await eventually(() => receives === 1, { what: 'long poll issued' });
    await a.close();
    // The emulator (like SQS) may still answer the aborted poll with this message; nobody reads the
    // answer, so the message is invisible until the visibility asked for on receive (3 s) runs out.
    const id = unique('abort');
    await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    const caught = (await queueCounts(emu, q.name)).inflight === 1;
    const t0 = Date.now();
    const b = await receiver({ queueUrls: [q.url], prefix });
    await eventually(async () => (await b.state(id)) === 'QUEUED', { timeoutMs: 8000 });
    expect(Date.now() - t0).toBeLessThan(caught ? 5000 : 2000);
    spy.destroy();
  });

  it('rides out SQS errors (throttling on receive, connection resets on delete) without losing or doubling a job', async () => {
    const q = queue();
    const proxy = await startFaultProxy(emu.endpoint);
    const target = (name: string) => (r: { headers: Record<string, unknown> }) =>
      String(r.headers['x-amz-target'] ?? '').endsWith(`.${name}`);
    const throttled = proxy.addRule({
      match: target('ReceiveMessage'),
      action: {
        kind: 'error',
        status: 400,
        body: '{"__type":"com.amazonaws.sqs#ThrottlingException","message":"slow down"}',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'Throttling;Sender' },
      },
      times: 4,
    });
    const reset = proxy.addRule({ match: target('DeleteMessage'), action: { kind: 'reset' }, times: 3 });
    const flaky = new SQSClient({
      endpoint: proxy.url,
      region: emu.region,
      credentials: emu.credentials,
      maxAttempts: 1,
    });
    const ids = [unique('f1'), unique('f2'), unique('f3')];
    for (const id of ids) await send(sqs, q.url, JSON.stringify(jobMessage(id)));
    const r = await receiver({ queueUrls: [q.url], sqs: flaky });
    await eventually(
      async () => (await queueCounts(emu, q.name)).ready + (await queueCounts(emu, q.name)).inflight === 0,
      {
        timeoutMs: 15_000,
        what: 'queue drained through the faults',
      },
    );
    expect(throttled.hits).toBe(4);
    expect(reset.hits).toBe(3);
    expect((await jobsInStream(redis, r.names)).map((e) => e.jobId).sort()).toEqual([...ids].sort());
    expect(sink.find((l) => l.msg === 'ReceiveMessage failed')).toBeDefined();
    expect(sink.find((l) => l.msg === 'DeleteMessage failed')).toBeDefined();
    await r.close();
    flaky.destroy();
    await proxy.close();
  });

  it('corrects clock skew from the server Date header (a Jetson clock one hour off)', async () => {
    const skewed = sqsClient(emu);
    skewed.config.systemClockOffset = -3_600_000;
    await skewed.send(new ListQueuesCommand({}));
    expect(Math.abs(skewed.config.systemClockOffset)).toBeLessThan(5000);
    skewed.destroy();
  });
});
