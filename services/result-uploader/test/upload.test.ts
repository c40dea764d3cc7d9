// result-uploader in-process against real Redis, fauxqs (S3 + SQS), a fault-injecting proxy and a
// local webhook server.
import { createHash } from 'node:crypto';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  encodeEntry,
  fieldsToRecord,
  NotificationV1,
  type RedisNames,
  ResultManifestV1,
  redisNames,
  verifyWebhookSignature,
} from '@edgefleet/contracts';
import { jobDeadLetter, type Redis, transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  type FaultProxy,
  type RedisServer,
  startEmulator,
  startFaultProxy,
  startRedisServer,
} from '@edgefleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addResult,
  createRunningJob,
  jobMessage,
  readRecord,
  resultsEntry,
  SECRET,
  type ServiceUnderTest,
  startUploader,
  startWebhookServer,
  tempDataDir,
  uniqueId,
  type WebhookServer,
  writeJobFiles,
} from './harness.js';

const BUCKET = 'results-bucket';
let redisServer: RedisServer;
let emu: Emulator;
let hook: WebhookServer;
let s3: S3Client;
let sqs: SQSClient;
let redis: Redis;
const running: ServiceUnderTest[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  [redisServer, emu, hook] = await Promise.all([startRedisServer(), startEmulator(), startWebhookServer()]);
  emu.createBucket(BUCKET);
  Object.assign(process.env, emu.env());
  s3 = emu.s3();
  sqs = new SQSClient({
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: emu.credentials,
    useQueueUrlAsEndpoint: false,
  });
  redis = redisServer.client();
});
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const p of proxies.splice(0)) await p.close();
  hook.answer = () => 200;
  process.env.AWS_ENDPOINT_URL = emu.endpoint;
});
afterAll(async () => {
  redis.disconnect();
  sqs.destroy();
  await Promise.all([redisServer.stop(), emu.stop(), hook.close()]);
});

interface Ctx {
  svc: ServiceUnderTest;
  names: RedisNames;
  dataDir: string;
  queueUrl: string;
}

async function setup(env: Record<string, string> = {}): Promise<Ctx> {
  const prefix = uniqueId('t');
  const dataDir = tempDataDir();
  const queueUrl = emu.createQueue(uniqueId('results'));
  const svc = await startUploader({
    EDGEFLEET_REDIS_URL: redisServer.url,
    EDGEFLEET_REDIS_PREFIX: prefix,
    EDGEFLEET_DATA_DIR: dataDir,
    EDGEFLEET_OUTPUT_BUCKETS: `${BUCKET},missing-bucket`,
    EDGEFLEET_RESULTS_QUEUE_URL: queueUrl,
    ...env,
  });
  running.push(svc);
  return { svc, names: redisNames(prefix), dataDir, queueUrl };
}

async function withProxy(): Promise<FaultProxy> {
  const p = await startFaultProxy(emu.endpoint);
  proxies.push(p);
  process.env.AWS_ENDPOINT_URL = p.url;
  return p;
}

const hooksFor = (jobId: string) =>
  hook.received.filter((r) => String(r.headers['idempotency-key']).startsWith(`${jobId}:`));

async function queueMessages(queueUrl: string): Promise<{ body: string; attrs: Record<string, string> }[]> {
  const r = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
    }),
  );
  return (r.Messages ?? []).map((m) => ({
    body: m.Body ?? '',
    attrs: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
    ),
  }));
}

async function objectText(key: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await r.Body?.transformToString()) ?? '';
}

async function keysUnder(prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key ?? '').sort();
}

const terminal = (c: Ctx, jobId: string) =>
  eventually(
    async () => {
      const r = await readRecord(redis, c.names, jobId);
      return r &&
        ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED', 'REJECTED'].includes(r.state) &&
        r.notifyStatus !== 'none'
        ? r
        : undefined;
    },
    { timeoutMs: 15_000, what: `${jobId} terminal and notified` },
  );

async function pendingCount(c: Ctx): Promise<number> {
  const p = (await redis.xpending(c.names.resultsStream, 'result-uploader')) as [number, ...unknown[]];
  return p[0];
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('uploading a job with files', () => {
  it('puts nested outputs, logs and a manifest under <output.uri>/<jobId>/, notifies both channels, acks, cleans up', async () => {
    const c = await setup();
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const files: Record<string, string | Buffer> = {
      'output/result.txt': 'accuracy 0.93\n',
      'output/plots/2026/fig.png': png,
      'output/deep/a/b/c/metrics.json': '{"loss":0.1}',
      'output/empty.dat': '',
      'logs/stdout.log': 'epoch 1\nepoch 2\n',
      'logs/stderr.log': 'warning\n',
    };
    writeJobFiles(jobDir, files);
    symlinkSync('/etc/passwd', join(jobDir, 'output', 'passwd'));
    await createRunningJob(
      redis,
      c.names,
      jobId,
      jobMessage(jobId, { notify: { webhook: hook.url }, labels: { team: 'vision' } }),
    );
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));

    const rec = await terminal(c, jobId);
    expect(rec.state).toBe('SUCCEEDED');
    expect(rec.exitCode).toBe(0);
    expect(rec.notifyStatus).toBe('delivered');
    expect(rec.resultUri).toBe(`s3://${BUCKET}/runs/${jobId}/`);
    expect(rec.history.map((h) => h.state)).toEqual([
      'QUEUED',
      'DOWNLOADING',
      'INSTALLING',
      'RUNNING',
      'UPLOADING',
      'SUCCEEDED',
    ]);
    expect(rec.history.at(-1)?.by).toBe('result-uploader');

    const prefix = `runs/${jobId}/`;
    expect(await keysUnder(prefix)).toEqual(
      [...Object.keys(files), 'manifest.json'].map((k) => prefix + k).sort(),
    );
    const manifest = ResultManifestV1.parse(JSON.parse(await objectText(`${prefix}manifest.json`)));
    expect(manifest).toMatchObject({
      jobId,
      state: 'SUCCEEDED',
      exitCode: 0,
      node: 'jetson-7',
      attempt: 1,
      bucket: BUCKET,
    });
    expect(manifest.timings).toMatchObject({ downloadMs: 120, installMs: 900, runMs: 4000 });
    expect(manifest.timings.uploadMs).toBeGreaterThanOrEqual(0);
    expect(manifest.labels).toEqual({ team: 'vision' });
    expect(manifest.skipped).toEqual([{ path: 'output/passwd', why: 'SYMLINK' }]);
    expect(manifest.files.map((f) => f.path)).toEqual(Object.keys(files).sort());
    for (const f of manifest.files) {
      const content = files[f.path] as string | Buffer;
      expect(f.size).toBe(Buffer.byteLength(content));
      expect(f.sha256).toBe(sha(content));
      expect(f.key).toBe(prefix + f.path);
    }
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}output/plots/2026/fig.png` }),
    );
    expect(head.ContentType).toBe('image/png');

    const hooks = hooksFor(jobId);
    expect(hooks).toHaveLength(1);
    const h = hooks[0]!;
    expect(h.headers['idempotency-key']).toBe(`${jobId}:SUCCEEDED`);
    expect(
      verifyWebhookSignature({
        header: h.headers['x-edgefleet-signature'] as string,
        body: h.body,
        secret: SECRET,
      }),
    ).toMatchObject({ ok: true });
    const n = NotificationV1.parse(JSON.parse(h.body));
    expect(n).toMatchObject({
      jobId,
      state: 'SUCCEEDED',
      event: 'terminal',
      node: 'jetson-7',
      exitCode: 0,
      resultUri: `s3://${BUCKET}/${prefix}`,
      manifestUri: `s3://${BUCKET}/${prefix}manifest.json`,
      labels: { team: 'vision' },
    });
    const msgs = await queueMessages(c.queueUrl);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.body).toBe(h.body);
    expect(msgs[0]!.attrs).toEqual({ idempotencyKey: `${jobId}:SUCCEEDED`, state: 'SUCCEEDED' });

    expect(await pendingCount(c)).toBe(0);
    // The folder goes right after the final transition (the record is observed first).
    await eventually(() => !existsSync(jobDir), { what: 'job folder deleted' });
    await eventually(() => c.svc.uploader.consumer.stats.acked === 1);
    const metrics = await c.svc.registry.getMetricsAsJSON();
    const bytes = metrics.find((m) => m.name === 'edgefleet_uploader_uploaded_bytes_total');
    const fileBytes = Object.values(files).reduce<number>((n, f) => n + Buffer.byteLength(f), 0);
    expect(bytes?.values.find((v) => v.labels.kind === 'file')?.value).toBe(fileBytes);
    const latency = metrics.find((m) => m.name === 'edgefleet_uploader_notification_latency_seconds');
    expect(
      latency?.values.some((v) => v.labels.channel === 'webhook' && v.labels.outcome === 'delivered'),
    ).toBe(true);
    expect(c.svc.logs.find((l) => l.msg === 'job finished')).toMatchObject({
      jobId,
      state: 'SUCCEEDED',
      component: 'processor',
    });
    expect(c.svc.logs.text()).not.toContain(SECRET);
  });

  it('finishes a job left in UPLOADING by a crash, overwriting what the first attempt wrote', async () => {
    const c = await setup();
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'new', 'logs/stdout.log': 'log' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await transitionJob(redis, c.names, { jobId, to: 'UPLOADING', by: 'result-uploader', now: Date.now() });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `runs/${jobId}/output/a.txt`, Body: 'stale' }));
    await addResult(
      redis,
      c.names,
      resultsEntry(jobId, { jobDir, state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 }),
    );
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 });
    expect(await objectText(`runs/${jobId}/output/a.txt`)).toBe('new');
    expect(await keysUnder(`runs/${jobId}/`)).toHaveLength(3);
    const manifest = ResultManifestV1.parse(JSON.parse(await objectText(`runs/${jobId}/manifest.json`)));
    expect(manifest).toMatchObject({ state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 });
  });

  it('records FAILED with OUTPUT_BUCKET_NOT_ALLOWED, OUTPUT_BUCKET_MISSING and notifies the reason', async () => {
    const c = await setup();
    const cases = [
      { uri: 's3://not-allowlisted/x/', reason: 'OUTPUT_BUCKET_NOT_ALLOWED' },
      { uri: 's3://missing-bucket/x/', reason: 'OUTPUT_BUCKET_MISSING' },
    ] as const;
    for (const k of cases) {
      const jobId = uniqueId();
      const jobDir = join(c.dataDir, 'jobs', jobId);
      writeJobFiles(jobDir, { 'output/a.txt': 'a' });
      await createRunningJob(redis, c.names, jobId, jobMessage(jobId, { output: { uri: k.uri } }));
      await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
      const rec = await terminal(c, jobId);
      expect(rec).toMatchObject({ state: 'FAILED', reason: k.reason, notifyStatus: 'delivered' });
      expect(rec.detail).toContain('run ended SUCCEEDED');
      expect(existsSync(jobDir)).toBe(true); // outputs not uploaded are kept
      const msgs = await queueMessages(c.queueUrl);
      const n = NotificationV1.parse(JSON.parse(msgs.find((m) => m.body.includes(jobId))!.body));
      expect(n).toMatchObject({ state: 'FAILED', reason: k.reason });
      expect(n.manifestUri).toBeUndefined();
    }
  });

  it('records FAILED with OUTPUT_ACCESS_DENIED when S3 answers 403', async () => {
    const proxy = await withProxy();
    proxy.addRule({
      match: (r) => r.method === 'PUT',
      action: { kind: 'error', status: 403, code: 'AccessDenied' },
    });
    const c = await setup();
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'FAILED', reason: 'OUTPUT_ACCESS_DENIED' });
    // Final: no retry of a 403 beyond the first refusal.
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('retries S3 throttling, 500 and 503 answers and completes', async () => {
    const proxy = await withProxy();
    const put = (r: { method: string }) => r.method === 'PUT';
    const slow = proxy.addRule({
      match: put,
      times: 3,
      action: { kind: 'error', status: 503, code: 'SlowDown' },
    });
    const e500 = proxy.addRule({ match: put, times: 3, action: { kind: 'error', status: 500 } });
    const reset = proxy.addRule({ match: put, times: 1, action: { kind: 'reset' } });
    const c = await setup({ EDGEFLEET_UPLOAD_CONCURRENCY: '2' });
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a', 'output/b/c.txt': 'c', 'logs/stdout.log': 'l' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(rec.state).toBe('SUCCEEDED');
    expect([slow.hits, e500.hits, reset.hits]).toEqual([3, 3, 1]);
    expect(await keysUnder(`runs/${jobId}/`)).toHaveLength(4);
    expect(await objectText(`runs/${jobId}/output/b/c.txt`)).toBe('c');
  });

  it('an S3 outage longer than EDGEFLEET_UPLOAD_OUTAGE_SECONDS: UPLOAD_FAILED, the folder kept EDGEFLEET_KEEP_FAILED_SECONDS, then swept', async () => {
    const proxy = await withProxy();
    const down = proxy.addRule({ match: (r) => r.method === 'PUT', action: { kind: 'error', status: 503 } });
    const c = await setup({
      EDGEFLEET_UPLOAD_OUTAGE_SECONDS: '1',
      EDGEFLEET_UPLOAD_MAX_ATTEMPTS: '1',
      EDGEFLEET_KEEP_FAILED_SECONDS: '2',
      EDGEFLEET_SWEEP_INTERVAL_MS: '100',
    });
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    const t = Date.now();
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1000);
    expect(rec).toMatchObject({ state: 'FAILED', reason: 'UPLOAD_FAILED', notifyStatus: 'delivered' });
    expect(rec.detail).toMatch(/EDGEFLEET_UPLOAD_OUTAGE_SECONDS=1/);
    expect(rec.waitingSince).toBeUndefined();
    expect(down.hits).toBeGreaterThan(2);
    // Retried inside one delivery (the budget), not by redelivering the entry.
    expect(c.svc.uploader.consumer.stats.retried).toBe(0);
    expect(await pendingCount(c)).toBe(0);
    expect(existsSync(jobDir)).toBe(true);
    await eventually(() => !existsSync(jobDir), { timeoutMs: 8000, what: 'failed job folder swept' });
    expect(Date.now() - rec.updatedAt).toBeGreaterThanOrEqual(2000);
    expect(await redis.exists(c.names.uploadedKey(jobId))).toBe(0);
  });

  it('an S3 outage shorter than the budget: the record shows the wait, then the job SUCCEEDS', async () => {
    const proxy = await withProxy();
    const down = proxy.addRule({ match: (r) => r.method === 'PUT', action: { kind: 'error', status: 503 } });
    const c = await setup({ EDGEFLEET_UPLOAD_OUTAGE_SECONDS: '60', EDGEFLEET_UPLOAD_MAX_ATTEMPTS: '1' });
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const waiting = await eventually(
      async () => {
        const r = await readRecord(redis, c.names, jobId);
        return r?.waitingSince ? r : undefined;
      },
      { what: 'the record shows the wait' },
    );
    expect(waiting.state).toBe('UPLOADING');
    expect(waiting.detail).toMatch(/^waiting for S3 since /);
    await down.waitForHits(4);
    down.remove();
    const rec = await terminal(c, jobId);
    expect(rec.state).toBe('SUCCEEDED');
    expect(rec.waitingSince).toBeUndefined();
    expect(await objectText(`runs/${jobId}/output/a.txt`)).toBe('a');
  });
});

describe('shutdown', () => {
  it('hands an in-flight upload back on stop; the next instance finishes it', async () => {
    const proxy = await withProxy();
    const held = proxy.addRule({ match: (r) => r.method === 'PUT', action: { kind: 'hold' } });
    const c = await setup();
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId, { notify: { webhook: hook.url } }));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    await held.waitForHits(1);
    await running.pop()!.stop(); // in-flight request aborted, entry left pending
    await eventually(() => proxy.heldCount === 0, { what: 'held request abandoned' });
    expect(c.svc.uploader.consumer.stats.retried).toBe(1);
    expect(await pendingCount(c)).toBe(1);
    expect((await readRecord(redis, c.names, jobId))?.state).toBe('UPLOADING');
    held.remove();
    const next = await startUploader({
      EDGEFLEET_REDIS_URL: redisServer.url,
      EDGEFLEET_REDIS_PREFIX: c.names.prefix,
      EDGEFLEET_DATA_DIR: c.dataDir,
      EDGEFLEET_OUTPUT_BUCKETS: BUCKET,
      EDGEFLEET_RESULTS_QUEUE_URL: c.queueUrl,
    });
    running.push(next);
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'SUCCEEDED', notifyStatus: 'delivered' });
    expect(hooksFor(jobId)).toHaveLength(1);
    expect(await pendingCount(c)).toBe(0);
  });
});

describe('restart in the middle of an upload', () => {
  it('files uploaded before the restart (same sha256) are not sent again; a changed one is', async () => {
    const proxy = await withProxy();
    const c = await setup({ EDGEFLEET_UPLOAD_CONCURRENCY: '1' });
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a', 'output/b.txt': 'b', 'output/c.txt': 'c' });
    const putOf = (name: string) => (r: { method: string; url: string }) =>
      r.method === 'PUT' && r.url.includes(`/${jobId}/output/${name}`);
    const held = proxy.addRule({ match: putOf('c.txt'), action: { kind: 'hold' } });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    await held.waitForHits(1);
    expect(Object.keys(await redis.hgetall(c.names.uploadedKey(jobId))).sort()).toEqual([
      'output/a.txt',
      'output/b.txt',
    ]);
    await running.pop()!.stop(); // the device restarts mid-upload
    held.remove();
    // b.txt changed on disk meanwhile: its recorded sha256 no longer matches, so it is sent again.
    writeJobFiles(jobDir, { 'output/b.txt': 'b2' });
    const next = await startUploader({
      EDGEFLEET_REDIS_URL: redisServer.url,
      EDGEFLEET_REDIS_PREFIX: c.names.prefix,
      EDGEFLEET_DATA_DIR: c.dataDir,
      EDGEFLEET_OUTPUT_BUCKETS: BUCKET,
      EDGEFLEET_RESULTS_QUEUE_URL: c.queueUrl,
    });
    running.push(next);
    const rec = await terminal(c, jobId);
    expect(rec.state).toBe('SUCCEEDED');
    expect(proxy.requests.filter(putOf('a.txt'))).toHaveLength(1);
    expect(proxy.requests.filter(putOf('b.txt'))).toHaveLength(2);
    expect(await objectText(`runs/${jobId}/output/b.txt`)).toBe('b2');
    const manifest = ResultManifestV1.parse(JSON.parse(await objectText(`runs/${jobId}/manifest.json`)));
    expect(manifest.files.map((f) => f.path).sort()).toEqual([
      'output/a.txt',
      'output/b.txt',
      'output/c.txt',
    ]);
    expect(manifest.files.find((f) => f.path === 'output/a.txt')?.sha256).toBe(sha('a'));
    expect(await redis.exists(c.names.uploadedKey(jobId))).toBe(0);
  });
});

describe('jobs that end without files', () => {
  it('notifies a REJECTED job (device default webhook and the queue) and records the notification', async () => {
    const c = await setup({ EDGEFLEET_WEBHOOK_URL: hook.url });
    const jobId = uniqueId();
    await transitionJob(redis, c.names, {
      jobId,
      to: 'REJECTED',
      by: 'job-receiver',
      reason: 'SCHEMA_INVALID',
      detail: 'inputs: required',
      now: Date.now(),
    });
    await addResult(
      redis,
      c.names,
      resultsEntry(jobId, {
        state: 'REJECTED',
        reason: 'SCHEMA_INVALID',
        detail: 'inputs: required',
        hasFiles: false,
        exitCode: undefined,
        node: 'jetson-7',
      }),
    );
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'REJECTED', notifyStatus: 'delivered' });
    expect(rec.notifyDetail).toMatch(/sqs: delivered.*webhook: delivered/);
    const hooks = hooksFor(jobId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers['idempotency-key']).toBe(`${jobId}:REJECTED`);
    expect(NotificationV1.parse(JSON.parse(hooks[0]!.body))).toMatchObject({
      state: 'REJECTED',
      reason: 'SCHEMA_INVALID',
    });
    expect(await queueMessages(c.queueUrl)).toHaveLength(1);
    expect(await pendingCount(c)).toBe(0);
  });

  it('notifies a job dead-lettered by the executor', async () => {
    const c = await setup();
    const jobId = uniqueId();
    await createRunningJob(
      redis,
      c.names,
      jobId,
      jobMessage(jobId, { notify: { webhook: hook.url } }),
      'DOWNLOADING',
    );
    await jobDeadLetter({
      redis,
      names: c.names,
      stream: c.names.jobsStream,
      group: 'job-executor',
      by: 'job-executor',
      node: 'jetson-7',
    })({
      id: '1-1',
      fields: encodeEntry({ jobId }),
      jobId,
      deliveries: 6,
      reason: 'DEAD_LETTERED',
      detail: 'delivered 6 times (limit 5)',
    });
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'FAILED', reason: 'DEAD_LETTERED', notifyStatus: 'delivered' });
    const hooks = hooksFor(jobId);
    expect(hooks).toHaveLength(1);
    expect(NotificationV1.parse(JSON.parse(hooks[0]!.body))).toMatchObject({
      state: 'FAILED',
      reason: 'DEAD_LETTERED',
      node: 'jetson-7',
    });
  });

  it('sends a non-allowlisted webhook nowhere, notifies via the queue only, and records why', async () => {
    const c = await setup();
    const jobId = uniqueId();
    await transitionJob(redis, c.names, {
      jobId,
      to: 'CANCELED',
      from: ['NEW'],
      by: 'job-receiver',
      reason: 'CANCELED_BY_REQUEST',
      now: Date.now(),
      set: {
        message: JSON.stringify(
          jobMessage(jobId, { notify: { webhook: 'https://169.254.169.254/latest/meta-data' } }),
        ),
      },
    });
    await addResult(
      redis,
      c.names,
      resultsEntry(jobId, { state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', hasFiles: false }),
    );
    const rec = await terminal(c, jobId);
    expect(rec.notifyStatus).toBe('delivered');
    expect(rec.notifyDetail).toContain('169.254.169.254 is not in EDGEFLEET_WEBHOOK_ALLOWED_HOSTS');
    expect(rec.notifyDetail).toContain('results queue only');
    expect(hooksFor(jobId)).toHaveLength(0);
    expect(await queueMessages(c.queueUrl)).toHaveLength(1);
  });
});

describe('webhook delivery', () => {
  it('retries a webhook that is down for a while: delivered exactly once, with a valid signature and one key', async () => {
    const c = await setup();
    const jobId = uniqueId();
    let calls = 0;
    hook.answer = ({ headers }) =>
      String(headers['idempotency-key']).startsWith(jobId) && ++calls <= 4 ? 503 : 200;
    await createRunningJob(
      redis,
      c.names,
      jobId,
      jobMessage(jobId, { notify: { webhook: hook.url } }),
      'QUEUED',
    );
    await transitionJob(redis, c.names, {
      jobId,
      to: 'CANCELED',
      by: 'job-receiver',
      reason: 'CANCELED_BY_REQUEST',
      now: Date.now(),
    });
    await addResult(
      redis,
      c.names,
      resultsEntry(jobId, { state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', hasFiles: false }),
    );
    const rec = await terminal(c, jobId);
    expect(rec.notifyStatus).toBe('delivered');
    const hooks = hooksFor(jobId);
    expect(hooks.map((h) => h.status)).toEqual([503, 503, 503, 503, 200]);
    expect(new Set(hooks.map((h) => h.headers['idempotency-key']))).toEqual(new Set([`${jobId}:CANCELED`]));
    expect(new Set(hooks.map((h) => h.body)).size).toBe(1);
    const ok = hook.delivered().filter((h) => h.headers['idempotency-key'] === `${jobId}:CANCELED`);
    expect(ok).toHaveLength(1);
    expect(
      verifyWebhookSignature({
        header: ok[0]!.headers['x-edgefleet-signature'] as string,
        body: ok[0]!.body,
        secret: SECRET,
      }).ok,
    ).toBe(true);
  });

  it('records undelivered past the deadline, acks, and the sweep delivers it once when the webhook is back', async () => {
    const c = await setup({ EDGEFLEET_NOTIFY_DEADLINE_MS: '150', EDGEFLEET_SWEEP_INTERVAL_MS: '100' });
    const jobId = uniqueId();
    let up = false;
    hook.answer = ({ headers }) => (String(headers['idempotency-key']).startsWith(jobId) && !up ? 502 : 200);
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId, { notify: { webhook: hook.url } }));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'SUCCEEDED', notifyStatus: 'undelivered' });
    expect(rec.notifyDetail).toMatch(/sqs: delivered; webhook: webhook answered HTTP 502/);
    expect(await pendingCount(c)).toBe(0);
    const failedBodies = new Set(hooksFor(jobId).map((h) => h.body));
    up = true;
    const done = await eventually(
      async () => {
        const r = await readRecord(redis, c.names, jobId);
        return r?.notifyStatus === 'delivered' ? r : undefined;
      },
      { what: 'sweep delivered' },
    );
    expect(done.notifyDetail).toMatch(/^resent by the sweep: webhook: delivered/);
    expect(done.state).toBe('SUCCEEDED');
    const delivered = hook.delivered().filter((h) => h.headers['idempotency-key'] === `${jobId}:SUCCEEDED`);
    expect(delivered).toHaveLength(1);
    expect(failedBodies.has(delivered[0]!.body)).toBe(true); // byte for byte the same notification
    expect(
      verifyWebhookSignature({
        header: delivered[0]!.headers['x-edgefleet-signature'] as string,
        body: delivered[0]!.body,
        secret: SECRET,
      }).ok,
    ).toBe(true);
    // The queue was delivered the first time and is not sent again.
    expect(await queueMessages(c.queueUrl)).toHaveLength(1);
    expect(await redis.hget(c.names.jobKey(jobId), 'notifyPayload')).toBeNull();
    // Once delivered, later sweeps leave it alone (the first call waits out a sweep still running).
    await c.svc.uploader.sweeper.runOnce();
    expect(await c.svc.uploader.sweeper.runOnce()).toMatchObject({ resent: 0 });
  });

  it('a webhook down longer than the delivery deadline but within the outage budget gets exactly one delivery', async () => {
    const c = await setup({
      EDGEFLEET_NOTIFY_DEADLINE_MS: '150',
      EDGEFLEET_SWEEP_INTERVAL_MS: '100',
      EDGEFLEET_NOTIFY_OUTAGE_SECONDS: '30',
    });
    const jobId = uniqueId();
    let up = false;
    hook.answer = ({ headers }) => (String(headers['idempotency-key']).startsWith(jobId) && !up ? 503 : 200);
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId, { notify: { webhook: hook.url } }));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(rec).toMatchObject({ state: 'SUCCEEDED', notifyStatus: 'undelivered' });
    const since = Number(await redis.hget(c.names.jobKey(jobId), 'notifySince'));
    // The outage lasts several sweeps, well past the 150 ms delivery deadline.
    await eventually(
      async () =>
        (await redis.hget(c.names.jobKey(jobId), 'notifyDetail'))?.startsWith('still undelivered') &&
        Date.now() - since > 1000,
      { what: 'outage outlasting the delivery deadline' },
    );
    up = true;
    const done = await eventually(
      async () => {
        const r = await readRecord(redis, c.names, jobId);
        return r?.notifyStatus === 'delivered' ? r : undefined;
      },
      { what: 'sweep delivered' },
    );
    expect(done.notifyDetail).toMatch(/^resent by the sweep: webhook: delivered/);
    expect(
      hook.delivered().filter((h) => h.headers['idempotency-key'] === `${jobId}:SUCCEEDED`),
    ).toHaveLength(1);
    await c.svc.uploader.sweeper.runOnce();
    expect(await c.svc.uploader.sweeper.runOnce()).toMatchObject({ resent: 0 });
  });

  it('after the notification outage budget the notification stays undelivered and is no longer sent', async () => {
    const c = await setup({
      EDGEFLEET_NOTIFY_DEADLINE_MS: '150',
      EDGEFLEET_SWEEP_INTERVAL_MS: '100',
      EDGEFLEET_NOTIFY_OUTAGE_SECONDS: '1',
    });
    const jobId = uniqueId();
    hook.answer = ({ headers }) => (String(headers['idempotency-key']).startsWith(jobId) ? 503 : 200);
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId, { notify: { webhook: hook.url } }));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    await terminal(c, jobId);
    const final = await eventually(
      async () => {
        const r = await readRecord(redis, c.names, jobId);
        return r?.notifyDetail?.startsWith('undelivered after the notification outage budget')
          ? r
          : undefined;
      },
      { what: 'outage budget spent' },
    );
    expect(final).toMatchObject({ state: 'SUCCEEDED', notifyStatus: 'undelivered' });
    expect(final.notifyDetail).toContain('(1 s)');
    expect(await redis.hget(c.names.jobKey(jobId), 'notifyPayload')).toBeNull();
    expect(await redis.hget(c.names.jobKey(jobId), 'notifyPending')).toBeNull();
    expect(
      hook.delivered().filter((h) => String(h.headers['idempotency-key']).startsWith(jobId)),
    ).toHaveLength(0);
    // Nothing is owed any more: later sweeps send nothing.
    await c.svc.uploader.sweeper.runOnce();
    const attempts = hooksFor(jobId).length;
    expect(await c.svc.uploader.sweeper.runOnce()).toMatchObject({ resent: 0 });
    expect(hooksFor(jobId)).toHaveLength(attempts);
  });

  it('does not follow a webhook redirect (no SSRF through a 30x) and does not retry a 4xx before the sweep', async () => {
    const c = await setup();
    const jobId = uniqueId();
    hook.answer = ({ headers }) => (String(headers['idempotency-key']).startsWith(jobId) ? 302 : 200);
    await transitionJob(redis, c.names, {
      jobId,
      to: 'REJECTED',
      by: 'job-receiver',
      reason: 'UNSAFE_PATH',
      now: Date.now(),
      set: { message: JSON.stringify(jobMessage(jobId, { notify: { webhook: hook.url } })) },
    });
    await addResult(
      redis,
      c.names,
      resultsEntry(jobId, { state: 'REJECTED', reason: 'UNSAFE_PATH', hasFiles: false }),
    );
    const rec = await terminal(c, jobId);
    expect(rec.notifyStatus).toBe('undelivered');
    expect(rec.notifyDetail).toContain('webhook: webhook answered HTTP 302 (1 attempt)');
    expect(hooksFor(jobId)).toHaveLength(1);
  });

  it('notifies RUNNING with the node name when the job asks, and not otherwise', async () => {
    const c = await setup();
    const asked = uniqueId();
    const quiet = uniqueId();
    await createRunningJob(
      redis,
      c.names,
      asked,
      jobMessage(asked, { notify: { webhook: hook.url, onRunning: true } }),
    );
    await createRunningJob(redis, c.names, quiet, jobMessage(quiet, { notify: { webhook: hook.url } }));
    for (const id of [quiet, asked])
      await addResult(
        redis,
        c.names,
        resultsEntry(id, {
          event: 'running',
          state: 'RUNNING',
          hasFiles: false,
          exitCode: undefined,
          node: 'jetson-9',
        }),
      );
    await eventually(async () => (await pendingCount(c)) === 0 && c.svc.uploader.consumer.stats.acked === 2);
    const hooks = hooksFor(asked);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers['idempotency-key']).toBe(`${asked}:RUNNING`);
    expect(NotificationV1.parse(JSON.parse(hooks[0]!.body))).toMatchObject({
      event: 'running',
      state: 'RUNNING',
      node: 'jetson-9',
    });
    expect(hooksFor(quiet)).toHaveLength(0);
    const rec = await readRecord(redis, c.names, asked);
    expect(rec?.state).toBe('RUNNING');
    expect(rec?.notifyDetail).toMatch(/^RUNNING: .*webhook: delivered/);
  });
});

describe('malformed results entries', () => {
  it('dead-letters each with MALFORMED_ENTRY and its reason; a job still running is failed and notified', async () => {
    const c = await setup();
    const victim = uniqueId();
    await createRunningJob(redis, c.names, victim, jobMessage(victim, { notify: { webhook: hook.url } }));
    const good = resultsEntry('x-1', { jobDir: join(c.dataDir, 'jobs', 'x-1') });
    const bad: [string, string[]][] = [
      ['no data field', ['jobId', 'x-1']],
      ['data is not JSON', ['jobId', 'x-1', 'data', '{nope']],
      ['state', ['jobId', 'x-1', 'data', JSON.stringify({ ...good, state: 'EXPLODED' })]],
      ['jobId', ['jobId', '../../etc', 'data', JSON.stringify({ ...good, jobId: '../../etc' })]],
      [
        'event running with state SUCCEEDED',
        ['jobId', 'x-1', 'data', JSON.stringify({ ...good, event: 'running' })],
      ],
      [
        'event terminal with state RUNNING',
        ['jobId', 'x-1', 'data', JSON.stringify({ ...good, state: 'RUNNING' })],
      ],
      ['hasFiles without jobDir', ['jobId', 'x-1', 'data', JSON.stringify({ ...good, jobDir: undefined })]],
      ['jobDir must be', ['jobId', 'x-1', 'data', JSON.stringify({ ...good, jobDir: '/etc' })]],
      [
        'jobDir must be',
        ['jobId', 'x-1', 'data', JSON.stringify({ ...good, jobDir: `${c.dataDir}/jobs/x-1/../../..` })],
      ],
      ['differs from data.jobId', ['jobId', 'x-2', 'data', JSON.stringify(good)]],
      [
        'jobDir must be',
        ['jobId', victim, 'data', JSON.stringify({ ...resultsEntry(victim), jobDir: '/tmp' })],
      ],
    ];
    for (const [, fields] of bad) await redis.xadd(c.names.resultsStream, '*', ...fields);
    const dead = await eventually(async () => {
      const d = await redis.xrange(c.names.deadStream, '-', '+');
      return d.length >= bad.length ? d : undefined;
    });
    const entries = dead.map(
      ([, f]) =>
        JSON.parse(fieldsToRecord(f).data ?? '{}') as {
          reason: string;
          detail: string;
          fields: Record<string, string>;
        },
    );
    bad.forEach(([why], i) => {
      expect(entries[i]?.reason).toBe('MALFORMED_ENTRY');
      expect(entries[i]?.detail).toContain(why);
    });
    // The running job named by a malformed entry is ended, and the server hears it.
    const rec = await terminal(c, victim);
    expect(rec).toMatchObject({ state: 'FAILED', reason: 'MALFORMED_ENTRY', notifyStatus: 'delivered' });
    expect(hooksFor(victim)).toHaveLength(1);
    expect(await pendingCount(c)).toBe(0);
  });
});

describe('retention', () => {
  it('keeps the job folder for EDGEFLEET_KEEP_JOB_DIR_SECONDS, then the sweep deletes it', async () => {
    const c = await setup({ EDGEFLEET_KEEP_JOB_DIR_SECONDS: '1', EDGEFLEET_SWEEP_INTERVAL_MS: '100' });
    const jobId = uniqueId();
    const jobDir = join(c.dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, { 'output/a.txt': 'a' });
    await createRunningJob(redis, c.names, jobId, jobMessage(jobId));
    await addResult(redis, c.names, resultsEntry(jobId, { jobDir }));
    const rec = await terminal(c, jobId);
    expect(rec.state).toBe('SUCCEEDED');
    expect(existsSync(jobDir)).toBe(true);
    await eventually(() => !existsSync(jobDir), { timeoutMs: 5000, what: 'job folder deleted' });
    expect(Date.now() - rec.updatedAt).toBeGreaterThanOrEqual(1000);
  });
});
