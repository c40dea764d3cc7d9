// kill -9 of the built executor (dist/main.js) mid-run, then restart: the previous run's processes
// are killed first, the job runs again as a new attempt, and once its attempts are used it ends
// FAILED ATTEMPTS_EXHAUSTED. Exactly one terminal results entry, never a lost job.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { encodeEntry, fieldsToRecord, JobMessageV1, type JobsEntry, redisNames } from '@edgefleet/contracts';
import { type Redis, transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  freePort,
  type RedisServer,
  type ServiceProcess,
  startEmulator,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanProcesses } from '../src/adapters/proc-scan.js';
import { ensureUser } from './support/harness.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const USER = 'ef-exec-crash';
const BUCKET = 'crash-inputs';
let redisServer: RedisServer;
let emulator: Emulator;
let redis: Redis;
let dataDir: string;
const names = redisNames('crash');
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  ensureUser(USER);
  redisServer = await startRedisServer({ password: 'redis-secret-pw' });
  redis = redisServer.client();
  emulator = await startEmulator();
  emulator.createBucket(BUCKET);
  dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-crash-'));
  chmodSync(dataDir, 0o755);
});
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL', 100);
  redis?.disconnect();
  await redisServer?.stop();
  await emulator?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function startExecutor(): Promise<ServiceProcess> {
  const port = await freePort();
  const p = startServiceProcess(entry, {
    env: {
      ...emulator.env(),
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redisServer.url,
      EDGEFLEET_REDIS_PREFIX: names.prefix,
      EDGEFLEET_DATA_DIR: dataDir,
      EDGEFLEET_ALLOWED_BUCKETS: BUCKET,
      EDGEFLEET_JOB_USER: USER,
      EDGEFLEET_INSTANCE_ID: 'executor-crash-test',
      EDGEFLEET_CLAIM_IDLE_MS: '2000',
      EDGEFLEET_KILL_GRACE_MS: '500',
      EDGEFLEET_ENV_SEED_PIP: 'false',
      EDGEFLEET_PIP_NO_INDEX: 'true',
      EDGEFLEET_MIN_FREE_DISK_BYTES: '0',
      EDGEFLEET_API_TOKEN: 'executor-api-token-secret',
    },
  });
  procs.push(p);
  await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
  return p;
}

async function submit(jobId: string): Promise<void> {
  const message = JobMessageV1.parse({
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: `s3://${BUCKET}/crash/main.py` }],
    output: { uri: `s3://${BUCKET}/out/` },
  });
  const e: JobsEntry = { jobId, message, receivedAt: Date.now(), source: 'http' };
  const r = await transitionJob(redis, names, {
    jobId,
    to: 'QUEUED',
    from: ['NEW'],
    by: 'test',
    now: Date.now(),
    set: { message: JSON.stringify(message) },
    xadd: [{ stream: names.jobsStream, fields: encodeEntry(e) }],
  });
  expect(r.ok).toBe(true);
}

const results = async (jobId: string) =>
  ((await redis.xrange(names.resultsStream, '-', '+')) as [string, string[]][])
    .map(([, f]) => fieldsToRecord(f))
    .filter((f) => f.jobId === jobId)
    .map((f) => JSON.parse(f.data ?? '{}'));

/** Waits until the job's user code runs (its processes carry the marker) in the given attempt. */
async function runningPids(jobId: string, attempt: number): Promise<number[]> {
  return eventually(
    async () => {
      const rec = await redis.hgetall(names.jobKey(jobId));
      if (rec.state !== 'RUNNING' || rec.attempt !== String(attempt)) return null;
      const pids = await scanProcesses({ jobId });
      return pids.length >= 2 ? pids : null; // parent + the setsid grandchild
    },
    { timeoutMs: 20_000, what: `attempt ${attempt} running` },
  );
}

describe('SIGTERM of the executor mid-run', () => {
  it('hands the job back: processes stopped, clean exit, no result, re-run after restart', async () => {
    const jobId = 'sigterm-1';
    await emulator.s3().send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'crash/main.py',
        Body: 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nprint("started", flush=True)\ntime.sleep(600)',
      }),
    );
    let p = await startExecutor();
    await submit(jobId);
    await runningPids(jobId, 1);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect(await results(jobId)).toEqual([]);
    expect(((await redis.xpending(names.jobsStream, 'job-executor')) as [number])[0]).toBe(1);
    p = await startExecutor();
    await runningPids(jobId, 2);
    await redis.hset(names.jobKey(jobId), 'cancelRequested', '1');
    await redis.publish(names.controlChannel, JSON.stringify({ kind: 'cancel', jobId, at: Date.now() }));
    const r = await eventually(async () => (await results(jobId))[0], { timeoutMs: 20_000, what: 'result' });
    expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', attempt: 2 });
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

describe('kill -9 of the executor mid-run', () => {
  it('kills the orphans on restart, re-runs, then ends ATTEMPTS_EXHAUSTED with one result', async () => {
    await emulator.s3().send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'crash/main.py',
        Body: [
          'import os, time',
          'if os.fork() == 0:',
          '    os.setsid()',
          '    time.sleep(600)',
          'print("started", flush=True)',
          'time.sleep(600)',
        ].join('\n'),
      }),
    );
    const jobId = 'crash-1';
    let p = await startExecutor();
    await submit(jobId);
    const first = await runningPids(jobId, 1);
    p.proc.kill('SIGKILL');
    await p.exited;
    // The orphans outlive the executor...
    expect((await scanProcesses({ jobId })).length).toBeGreaterThanOrEqual(2);

    p = await startExecutor();
    const second = await runningPids(jobId, 2);
    // ...until the restart kills them before the job runs again.
    expect(second.filter((pid) => first.includes(pid))).toEqual([]);
    expect(p.output()).toMatch(/killed what a previous run left/);
    expect(await results(jobId)).toEqual([]);

    p.proc.kill('SIGKILL');
    await p.exited;
    p = await startExecutor();
    const r = await eventually(async () => (await results(jobId))[0], { timeoutMs: 20_000, what: 'result' });
    expect(r).toMatchObject({ state: 'FAILED', reason: 'ATTEMPTS_EXHAUSTED', hasFiles: true, attempt: 2 });
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect((await redis.hgetall(names.jobKey(jobId))).attempt).toBe('2');
    const pending = (await redis.xpending(names.jobsStream, 'job-executor')) as [number];
    expect(pending[0]).toBe(0);
    expect(await results(jobId)).toHaveLength(1);
    // No secret in the service's logs.
    expect(p.output() + procs.map((x) => x.output()).join('')).not.toMatch(
      /redis-secret-pw|executor-api-token-secret/,
    );
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
