// POST /v1/drain on the built executor (what `edgefleet drain` sends before an upgrade): it takes no
// more jobs; a running job that ends within the wait is reported finished with its result handed on;
// one still running at the end of the wait is handed back (processes stopped, no result, its entry
// pending) and runs again, as a new attempt, in the executor started next.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const cli = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));
const USER = 'ef-exec-drain';
const BUCKET = 'drain-inputs';
const TOKEN = 'executor-drain-token-0123456789';
let redisServer: RedisServer;
let emulator: Emulator;
let redis: Redis;
let dataDir: string;
/** A folder the job user can read: a job waits there for the file `go`. */
let signals: string;
const names = redisNames('drain');
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  ensureUser(USER);
  redisServer = await startRedisServer();
  redis = redisServer.client();
  emulator = await startEmulator();
  emulator.createBucket(BUCKET);
  dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-drain-'));
  chmodSync(dataDir, 0o755);
  signals = mkdtempSync(join(tmpdir(), 'edgefleet-drain-signals-'));
  chmodSync(signals, 0o755);
  // Runs until `go` appears in the signals folder, then writes an output and ends.
  await emulator.s3().send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'wait/main.py',
      Body: [
        'import os, sys, time',
        `go = os.path.join(${JSON.stringify(signals)}, "go-" + os.environ["EDGEFLEET_JOB_ID"])`,
        'print("started", flush=True)',
        'while not os.path.exists(go):',
        '    time.sleep(0.05)',
        'open(os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "done.txt"), "w").write("done")',
      ].join('\n'),
    }),
  );
});
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL', 100);
  redis?.disconnect();
  await redisServer?.stop();
  await emulator?.stop();
  for (const d of [dataDir, signals]) if (d) rmSync(d, { recursive: true, force: true });
});

async function startExecutor(): Promise<{ p: ServiceProcess; url: string }> {
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
      EDGEFLEET_INSTANCE_ID: 'executor-drain-test',
      EDGEFLEET_KILL_GRACE_MS: '500',
      EDGEFLEET_ENV_SEED_PIP: 'false',
      EDGEFLEET_PIP_NO_INDEX: 'true',
      EDGEFLEET_MIN_FREE_DISK_BYTES: '0',
      EDGEFLEET_API_TOKEN: TOKEN,
    },
  });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await p.waitForHttp(`${url}/readyz`);
  return { p, url };
}

async function submit(jobId: string): Promise<void> {
  const message = JobMessageV1.parse({
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: `s3://${BUCKET}/wait/main.py` }],
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

const running = (jobId: string, attempt: number) =>
  eventually(
    async () => {
      const rec = await redis.hgetall(names.jobKey(jobId));
      return (
        rec.state === 'RUNNING' && rec.attempt === String(attempt) && (await scanProcesses({ jobId })).length
      );
    },
    { timeoutMs: 30_000, what: `${jobId} attempt ${attempt} running` },
  );

const drain = (url: string, body: unknown, token = TOKEN) =>
  fetch(`${url}/v1/drain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

/** Redis clients of this executor's stream reader (the consumer's blocking connection). */
const readers = async () =>
  ((await redis.client('LIST')) as string).split('\n').filter((l) => /name=\S*:blocking\b/.test(l)).length;

describe('drain', () => {
  it('refuses a request without the token or with a bad body, draining nothing', async () => {
    const { p, url } = await startExecutor();
    expect((await drain(url, { waitSeconds: 1 }, 'wrong-token-wrong-token-000')).status).toBe(401);
    const bad = await drain(url, { waitSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    expect((await drain(url, { wait: 5 })).status).toBe(400);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);

  it('a job ending within the wait is finished; then no job is taken until the restart', async () => {
    const { p, url } = await startExecutor();
    await submit('finishes-1');
    await running('finishes-1', 1);
    const answer = drain(url, { waitSeconds: 60 });
    // Taking no more jobs once the drain started: the stream reader is gone while the job still runs.
    await eventually(async () => (await readers()) === 0, { timeoutMs: 10_000, what: 'reader closed' });
    writeFileSync(join(signals, 'go-finishes-1'), '');
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ draining: true, finished: ['finishes-1'], handedBack: [] });
    // Its result went on to the uploader, as any job's.
    expect(await results('finishes-1')).toEqual([expect.objectContaining({ state: 'SUCCEEDED' })]);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { redis: true, takingJobs: false } });

    // A job sent now waits for the next executor.
    await submit('after-drain-1');
    writeFileSync(join(signals, 'go-after-drain-1'), '');
    expect(((await redis.xpending(names.jobsStream, 'job-executor')) as [number])[0]).toBe(0);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect((await redis.hgetall(names.jobKey('after-drain-1'))).state).toBe('QUEUED');
    const next = await startExecutor();
    const r = await eventually(async () => (await results('after-drain-1'))[0], {
      timeoutMs: 30_000,
      what: 'the queued job run by the next executor',
    });
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
    expect(await next.p.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('a job still running at the end of the wait is handed back and runs again after the restart', async () => {
    const { p, url } = await startExecutor();
    await submit('handed-back-1');
    await running('handed-back-1', 1);
    const res = await drain(url, { waitSeconds: 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ draining: true, finished: [], handedBack: ['handed-back-1'] });
    expect(await scanProcesses({ jobId: 'handed-back-1' })).toEqual([]);
    expect(await results('handed-back-1')).toEqual([]);
    expect(((await redis.xpending(names.jobsStream, 'job-executor')) as [number])[0]).toBe(1);
    expect(await p.stop('SIGTERM')).toBe(0);

    const next = await startExecutor();
    await running('handed-back-1', 2);
    writeFileSync(join(signals, 'go-handed-back-1'), '');
    const r = await eventually(async () => (await results('handed-back-1'))[0], {
      timeoutMs: 30_000,
      what: 'the handed-back job run again',
    });
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(await next.p.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('edgefleet drain: the token from EDGEFLEET_API_TOKEN_FILE, the result as JSON; a bad --wait is a usage error', async () => {
    const { p, url } = await startExecutor();
    const tokenFile = join(signals, 'api-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const env = { PATH: process.env.PATH ?? '', HOME: signals, EDGEFLEET_API_TOKEN_FILE: tokenFile };
    const usage = spawnSync(process.execPath, [cli, 'drain', '--wait', 'soon', '--executor', url], {
      env,
      encoding: 'utf8',
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--wait takes whole seconds/);
    const r = spawnSync(process.execPath, [cli, 'drain', '--wait', '0', '--executor', url, '--json'], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ draining: true, finished: [], handedBack: [] });
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
