// The service as an operator runs it: a real process (dist/main.js), a real Redis, fauxqs, a webhook.
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type RedisNames, ResultManifestV1, redisNames, verifyWebhookSignature } from '@edgefleet/contracts';
import type { Redis } from '@edgefleet/service-kit';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addResult,
  createRunningJob,
  jobMessage,
  readRecord,
  resultsEntry,
  SECRET,
  startWebhookServer,
  tempDataDir,
  uniqueId,
  type WebhookServer,
  writeJobFiles,
} from './harness.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const BUCKET = 'results-bucket';
const MiB = 1024 * 1024;
let redis: RedisServer;
let emu: Emulator;
let hook: WebhookServer;
let client: Redis;
let s3: S3Client;
beforeAll(async () => {
  [redis, emu, hook] = await Promise.all([startRedisServer(), startEmulator(), startWebhookServer()]);
  emu.createBucket(BUCKET);
  client = redis.client();
  s3 = emu.s3();
});
afterAll(async () => {
  client.disconnect();
  await Promise.all([redis.stop(), emu.stop(), hook.close()]);
});

/** Environment of a service process: `endpoint` is fauxqs or a proxy in front of it. */
function serviceEnv(over: {
  port: number;
  prefix: string;
  dataDir: string;
  endpoint?: string;
}): Record<string, string> {
  return {
    ...emu.env(),
    ...(over.endpoint ? { AWS_ENDPOINT_URL: over.endpoint } : {}),
    EDGEFLEET_PORT: String(over.port),
    EDGEFLEET_REDIS_URL: redis.url,
    EDGEFLEET_REDIS_PREFIX: over.prefix,
    EDGEFLEET_DATA_DIR: over.dataDir,
    EDGEFLEET_OUTPUT_BUCKETS: BUCKET,
    EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
    EDGEFLEET_NODE_NAME: 'jetson-7',
    EDGEFLEET_INSTANCE_ID: `uploader-${over.prefix}`,
    EDGEFLEET_WEBHOOK_SECRET: SECRET,
    EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EDGEFLEET_WEBHOOK_ALLOW_HTTP: 'true',
    EDGEFLEET_RETRY_BASE_MS: '20',
    EDGEFLEET_CLAIM_IDLE_MS: '500',
    EDGEFLEET_RESULTS_QUEUE_URL: emu.createQueue(`results-${over.prefix}`),
  };
}

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
function memoryOf(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

async function waitTerminal(names: RedisNames, jobId: string, timeoutMs = 20_000) {
  return eventually(
    async () => {
      const r = await readRecord(client, names, jobId);
      return r && r.notifyStatus !== 'none' && ['SUCCEEDED', 'FAILED'].includes(r.state) ? r : undefined;
    },
    { timeoutMs, what: `${jobId} finished` },
  );
}

describe('result-uploader process', () => {
  it('starts, answers /healthz, /readyz and /metrics, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, {
      env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: redis.url, ...emu.env() },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready once Redis answers (the connection is made after the HTTP server listens).
    await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of [
      'edgefleet_uploader_uploaded_bytes_total',
      'edgefleet_uploader_upload_duration_seconds',
      'edgefleet_uploader_notification_latency_seconds',
      'edgefleet_uploader_notification_failures_total',
    ])
      expect(metrics).toContain(name);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.output()).toContain('"msg":"stopped"');
  });

  it('refuses to start on an invalid variable, naming it, without a stack trace', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_PORT: 'eighty' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_PORT: expected an integer/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  // One process per kind of problem; every variable's rules are in config.test.ts (in-process, fast).
  it.each([
    [
      { EDGEFLEET_WEBHOOK_URL: 'https://server.example/hook' },
      /EDGEFLEET_WEBHOOK_SECRET: required when EDGEFLEET_WEBHOOK_URL/,
    ],
    [
      { EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: 'ok.example,bad host!' },
      /EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: a host name/,
    ],
  ])('refuses bad configuration %o with a clear message', async (env, message) => {
    const p = startServiceProcess(entry, { env: env as Record<string, string> });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(message);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('never prints a short secret back', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_WEBHOOK_SECRET: 'hunter2' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_WEBHOOK_SECRET: at least 16 characters/);
    expect(p.output()).not.toContain('hunter2');
  });

  it('never logs or uploads the credentials of a webhook URL (the device one, a job one)', async () => {
    const seeds = ['SEEDED-DEVICE-PASS', 'SEEDED-DEVICE-TOKEN', 'SEEDED-JOB-TOKEN'];
    /** The webhook receiver's URL with a query token and, when given, user-info (a job's may carry none). */
    const withCredentials = (token: string, user?: string, pass?: string) => {
      const u = new URL(hook.url);
      if (user) u.username = user;
      if (pass) u.password = pass;
      u.searchParams.set('token', token);
      return u.toString();
    };
    const port = await freePort();
    const prefix = uniqueId('creds');
    const dataDir = tempDataDir();
    const names = redisNames(prefix);
    const p = startServiceProcess(entry, {
      env: {
        ...serviceEnv({ port, prefix, dataDir }),
        EDGEFLEET_WEBHOOK_URL: withCredentials('SEEDED-DEVICE-TOKEN', 'device', 'SEEDED-DEVICE-PASS'),
      },
    });
    try {
      await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
      const received = hook.received.length;
      const jobId = uniqueId();
      const jobDir = join(dataDir, 'jobs', jobId);
      writeJobFiles(jobDir, { 'logs/stdout.log': 'hello\n', 'output/out.txt': 'result' });
      await createRunningJob(
        client,
        names,
        jobId,
        jobMessage(jobId, {
          output: { uri: `s3://${BUCKET}/creds/` },
          notify: { webhook: withCredentials('SEEDED-JOB-TOKEN') },
        }),
      );
      await addResult(client, names, resultsEntry(jobId, { jobDir }));
      const rec = await waitTerminal(names, jobId);
      expect(rec.state).toBe('SUCCEEDED');
      // Notified (so the delivery was logged too), then searched: every line, every uploaded object.
      await eventually(() => hook.received.length > received, { what: 'the webhook called' });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `creds/${jobId}/` }));
      const uploaded = await Promise.all(
        (listed.Contents ?? []).map(async (o) => {
          const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key }));
          return [o.Key, (await got.Body?.transformToString()) ?? ''] as const;
        }),
      );
      expect(uploaded.map(([k]) => k)).toContain(`creds/${jobId}/manifest.json`);
      expect(p.output()).toContain('listening');
      for (const seed of seeds) {
        expect({ seed, inLog: p.output().includes(seed) }).toEqual({ seed, inLog: false });
        for (const [key, body] of uploaded)
          expect({ seed, key, inObject: body.includes(seed) }).toEqual({ seed, key, inObject: false });
      }
    } finally {
      await p.stop('SIGTERM');
    }
  });

  it('uploads a 200 MiB output multipart with flat memory', async () => {
    const proxy = await startFaultProxy(emu.endpoint); // counts requests; injects nothing
    const port = await freePort();
    const prefix = uniqueId('big');
    const dataDir = tempDataDir();
    const names = redisNames(prefix);
    const p = startServiceProcess(entry, { env: serviceEnv({ port, prefix, dataDir, endpoint: proxy.url }) });
    try {
      await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
      const before = memoryOf(p.proc.pid!);
      const jobId = uniqueId();
      const jobDir = join(dataDir, 'jobs', jobId);
      writeJobFiles(jobDir, { 'logs/stdout.log': 'big\n' });
      mkdirSync(join(jobDir, 'output'), { recursive: true });
      // Sparse: 200 MiB of zeros that cost no disk, with a marker at the end.
      const fd = openSync(join(jobDir, 'output', 'big.bin'), 'w');
      ftruncateSync(fd, 200 * MiB - 4);
      writeSync(fd, Buffer.from('END!'), 0, 4, 200 * MiB - 4);
      closeSync(fd);
      await createRunningJob(
        client,
        names,
        jobId,
        jobMessage(jobId, { output: { uri: `s3://${BUCKET}/big/` } }),
      );
      await addResult(client, names, resultsEntry(jobId, { jobDir }));
      const rec = await waitTerminal(names, jobId, 45_000);
      const after = memoryOf(p.proc.pid!);
      expect(rec.state).toBe('SUCCEEDED');
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `big/${jobId}/output/big.bin` }),
      );
      expect(head.ContentLength).toBe(200 * MiB);
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.url));
      expect(parts.length).toBe(25); // 200 MiB / 8 MiB parts
      const manifest = ResultManifestV1.parse(
        JSON.parse(
          (await (
            await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `big/${jobId}/manifest.json` }))
          ).Body?.transformToString()) ?? '',
        ),
      );
      const h = createHash('sha256');
      const zeros = Buffer.alloc(8 * MiB);
      for (let i = 0; i < 25; i++)
        h.update(i === 24 ? Buffer.concat([zeros.subarray(0, 8 * MiB - 4), Buffer.from('END!')]) : zeros);
      expect(manifest.files.find((f) => f.path === 'output/big.bin')).toMatchObject({
        size: 200 * MiB,
        sha256: h.digest('hex'),
      });
      // Flat: the peak grows by well under the file's size. In flight: 2 parts × 8 MiB, each also
      // assembled by lib-storage from 1 MiB reads (a copy), plus garbage not yet collected; ~100 MiB
      // measured. Buffering the file would cost ≥ 200 MiB.
      const growth = after.peak - before.peak;
      console.log(
        `RSS before ${Math.round(before.now / MiB)} MiB, peak after ${Math.round(after.peak / MiB)} MiB, growth ${Math.round(growth / MiB)} MiB`,
      );
      expect(growth).toBeLessThan(150 * MiB);
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      await p.stop('SIGKILL');
      await proxy.close();
    }
  }, 60_000); // bounded well above the ~5 s it takes, for a loaded shared machine

  it('after kill -9 mid-upload, a restart uploads the job and notifies it once', async () => {
    const proxy = await startFaultProxy(emu.endpoint);
    const held = proxy.addRule({
      match: (r) => r.method === 'PUT' && r.url.includes('/output/'),
      action: { kind: 'hold' },
    });
    const port = await freePort();
    const prefix = uniqueId('crash');
    const dataDir = tempDataDir();
    const names = redisNames(prefix);
    const env = serviceEnv({ port, prefix, dataDir, endpoint: proxy.url });
    const jobId = uniqueId();
    const jobDir = join(dataDir, 'jobs', jobId);
    writeJobFiles(jobDir, {
      'output/model/weights.bin': Buffer.alloc(64 * 1024, 7),
      'logs/stdout.log': 'ok\n',
    });
    await createRunningJob(client, names, jobId, jobMessage(jobId, { notify: { webhook: hook.url } }));
    await addResult(client, names, resultsEntry(jobId, { jobDir }));
    let p: ServiceProcess = startServiceProcess(entry, { env });
    try {
      await held.waitForHits(1, 15_000); // the upload is provably in flight
      expect(await readRecord(client, names, jobId)).toMatchObject({
        state: 'UPLOADING',
        notifyStatus: 'pending',
      });
      p.proc.kill('SIGKILL');
      expect(await p.exited).toBe('SIGKILL');
      held.remove();
      expect(hook.received.filter((r) => r.body.includes(jobId))).toHaveLength(0);

      p = startServiceProcess(entry, { env });
      const rec = await waitTerminal(names, jobId);
      expect(rec).toMatchObject({ state: 'SUCCEEDED', notifyStatus: 'delivered' });
      expect(rec.history.map((h) => h.state)).toEqual([
        'QUEUED',
        'DOWNLOADING',
        'INSTALLING',
        'RUNNING',
        'UPLOADING',
        'UPLOADING',
        'SUCCEEDED',
      ]);
      const hooks = hook.received.filter((r) => r.body.includes(jobId));
      expect(hooks).toHaveLength(1);
      expect(hooks[0]!.headers['idempotency-key']).toBe(`${jobId}:SUCCEEDED`);
      expect(
        verifyWebhookSignature({
          header: hooks[0]!.headers['x-edgefleet-signature'] as string,
          body: hooks[0]!.body,
          secret: SECRET,
        }).ok,
      ).toBe(true);
      const weights = await s3.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `runs/${jobId}/output/model/weights.bin` }),
      );
      expect(weights.ContentLength).toBe(64 * 1024);
      expect(await p.stop('SIGTERM')).toBe(0);
    } finally {
      await p.stop('SIGKILL');
      await proxy.close();
    }
  }, 60_000);

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
});
