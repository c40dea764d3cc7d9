// An in-process executor built by the service's factory (createExecutor, as main.ts does) against a
// real redis-server, fauxqs and python, plus helpers to submit jobs the way the receiver does (record
// QUEUED + XADD in one transition) and to read what the executor handed to the uploader.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  decodeEntry,
  encodeEntry,
  fieldsToRecord,
  type JobMessageInput,
  JobMessageV1,
  type JobsEntry,
  type RedisNames,
  ResultsEntry,
} from '@edgefleet/contracts';
import { type Redis, silentLogger, transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  type RedisServer,
  startEmulator,
  startRedisServer,
} from '@edgefleet/testkit';
import type { Logger } from 'pino';
import type { CgroupSupport } from '../../src/adapters/cgroup.js';
import type { JobUser } from '../../src/adapters/job-user.js';
import { scanProcesses } from '../../src/adapters/proc-scan.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { ExecutorSettings } from '../../src/executor.js';
import { createExecutor, type ExecutorHandle, type ExecutorServiceDeps } from '../../src/executor-service.js';

export const BUCKET = 'edgefleet-inputs';
export const FOREIGN_BUCKET = 'someone-elses';

/** Creates a system user for this test file's jobs (tests run as root), so files never share a uid. */
export function ensureUser(name: string): void {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
        stdio: 'ignore',
      });
    } catch {
      execFileSync('id', ['-u', name], { stdio: 'ignore' }); // created concurrently by another file
    }
  }
}

/**
 * The tests' configuration: small limits, a short kill grace and claim time, no pip index, no seeded
 * pip, environments built as the service user and no free-space floor for them (a test's data folder
 * may be a small tmpfs). Redis and S3 are injected (ExecutorServiceDeps), so their settings are unused.
 */
export const testConfig = (dataDir: string, user: string): Config => ({
  ...loadConfig({}),
  port: 0,
  httpHost: '127.0.0.1',
  nodeName: 'test-node',
  instanceId: 'executor-test',
  dataDir,
  jobUser: user,
  maxAttempts: 2,
  maxDeliveries: 3,
  claimIdleMs: 1000,
  allowedBuckets: [BUCKET],
  maxInputBytes: 64 * 1024 * 1024,
  maxInputFiles: 100,
  minFreeDiskBytes: 0,
  downloadConcurrency: 4,
  downloadOutageSeconds: 60,
  defaultOutputMiB: 1024,
  diskCheckMs: 200,
  pythonBin: '/usr/bin/python3',
  defaultTimeoutSeconds: 60,
  defaultInstallTimeoutSeconds: 120,
  defaultMemoryMiB: 0,
  killGraceMs: 500,
  memoryLimitMode: 'cgroup',
  maxProcesses: 64,
  maxLogBytes: 1024 * 1024,
  logTailMaxEntries: 1000,
  jobEnvPassthrough: ['LANG', 'TZ'],
  concurrency: 1,
  envCacheMaxBytes: 2 * 1024 * 1024 * 1024,
  envMinFreeBytes: 0,
  envSeedPip: false,
  envBuildAsJobUser: false,
  pipNoIndex: true,
});

export interface Harness {
  /** The service as createExecutor built it. */
  service: ExecutorHandle;
  redis: Redis;
  redisServer: RedisServer;
  emulator: Emulator;
  s3: S3Client;
  names: RedisNames;
  dataDir: string;
  envCacheDir: string;
  jobUser: JobUser;
  cgroups: CgroupSupport;
  /** The pipeline's settings, read live: a test may change one for a while. */
  settings: ExecutorSettings;
  put(key: string, body: string | Buffer, bucket?: string): Promise<void>;
  /** Creates the record (QUEUED) and the `jobs` entry atomically, as the receiver does. */
  submit(msg: Partial<JobMessageInput> & Pick<JobMessageInput, 'jobId' | 'inputs'>): Promise<string>;
  /** Every results entry for a job. */
  results(jobId: string): Promise<ResultsEntry[]>;
  /** Waits for the job's terminal results entry. */
  terminal(jobId: string, timeoutMs?: number): Promise<ResultsEntry>;
  record(jobId: string): Promise<Record<string, string>>;
  /** Asks for a cancel as the receiver does: cancelRequested on the record + a control message. */
  cancel(jobId: string): Promise<void>;
  /** Live processes of a job (by marker) and of the job user. */
  leftovers(jobId: string): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startHarness(o: {
  user: string;
  /** Configuration over testConfig's. */
  settings?: Partial<Config>;
  logger?: Logger;
  redisPassword?: string;
  serviceEnv?: Record<string, string>;
  /** The executor's S3 client (default: the emulator's), e.g. one that goes through a fault proxy. */
  s3Client?: (emulator: Emulator) => Promise<S3Client>;
  /** The data folder (default: a new temp folder), e.g. a small tmpfs; emptied, not removed, at stop. */
  dataDir?: string;
  /** redis-server's data folder (its AOF), e.g. on the small disk of dataDir; default its own temp folder. */
  redisDir?: string;
  /** redis-server's user and group (default the test's own: root). */
  redisUser?: { uid: number; gid: number };
  /** Extra factory dependencies (clock, random source, outage backoff). */
  deps?: Pick<ExecutorServiceDeps, 'random' | 'outageBackoff' | 'now'>;
}): Promise<Harness> {
  ensureUser(o.user);
  const redisServer = await startRedisServer({
    ...(o.redisPassword ? { password: o.redisPassword } : {}),
    ...(o.redisDir ? { dir: o.redisDir } : {}),
    ...(o.redisUser ? { user: o.redisUser } : {}),
  });
  const emulator = await startEmulator();
  emulator.createBucket(BUCKET);
  emulator.createBucket(FOREIGN_BUCKET);
  const s3 = o.s3Client ? await o.s3Client(emulator) : emulator.s3();
  const redis = redisServer.client();
  // Handled, as createRedis's clients are: reconnects are routine (a test may restart Redis).
  redis.on('error', () => {});
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'edgefleet-exec-'));
  chmodSync(dataDir, 0o755); // the job user must reach the venvs and its workspace
  const config: Config = {
    ...testConfig(dataDir, o.user),
    redisUrl: redisServer.url,
    redisPrefix: `t${Math.random().toString(36).slice(2, 8)}`,
    ...o.settings,
  };
  const service = await createExecutor(config, {
    logger: o.logger ?? silentLogger(),
    redis,
    s3,
    // A stop ends the consumer's blocked read at once; a short block also keeps claims prompt.
    consumerBlockMs: 200,
    ...o.deps,
    serviceEnv: {
      ...process.env,
      AWS_SECRET_ACCESS_KEY: 'very-secret-aws',
      EDGEFLEET_API_TOKEN: 'very-secret-token',
      EDGEFLEET_REDIS_PASSWORD: 'very-secret-redis',
      ...o.serviceEnv,
    },
  });
  await service.start();
  const { names, jobUser } = service;
  // Cancels are published right after a job starts: wait until the control channel is subscribed.
  await eventually(
    async () => {
      const [, n] = (await redis.pubsub('NUMSUB', names.controlChannel)) as [string, number];
      return n > 0 || undefined;
    },
    { timeoutMs: 10_000, what: 'the control subscription' },
  );

  const h: Harness = {
    service,
    redis,
    redisServer,
    emulator,
    s3,
    names,
    dataDir,
    envCacheDir: join(dataDir, 'envs'),
    jobUser,
    cgroups: service.cgroups,
    settings: service.settings,
    async put(key, body, bucket = BUCKET) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async submit(msg) {
      const message = JobMessageV1.parse({
        version: 1,
        kind: 'job',
        code: { entrypoint: 'main.py' },
        output: { uri: `s3://${BUCKET}/results/` },
        ...msg,
      });
      const entry: JobsEntry = { jobId: message.jobId, message, receivedAt: Date.now(), source: 'http' };
      const r = await transitionJob(redis, names, {
        jobId: message.jobId,
        to: 'QUEUED',
        from: ['NEW'],
        by: 'job-receiver',
        now: Date.now(),
        set: { message: JSON.stringify(message), source: 'http' },
        xadd: [{ stream: names.jobsStream, fields: encodeEntry(entry) }],
      });
      if (!r.ok) throw new Error(`submit refused: ${r.status}`);
      return message.jobId;
    },
    async results(jobId) {
      const rows = (await redis.xrange(names.resultsStream, '-', '+')) as [string, string[]][];
      return rows
        .filter(([, f]) => fieldsToRecord(f).jobId === jobId)
        .map(([, f]) => {
          const d = decodeEntry(ResultsEntry, f);
          if (!d.ok) throw new Error(d.detail);
          return d.value;
        });
    },
    async terminal(jobId, timeoutMs = 30_000) {
      return eventually(async () => (await h.results(jobId)).find((r) => r.event === 'terminal'), {
        timeoutMs,
        what: `terminal result of ${jobId}`,
      });
    },
    record: (jobId) => redis.hgetall(names.jobKey(jobId)),
    async cancel(jobId) {
      await redis.hset(names.jobKey(jobId), 'cancelRequested', '1');
      await redis.publish(names.controlChannel, JSON.stringify({ kind: 'cancel', jobId, at: Date.now() }));
    },
    async leftovers(jobId) {
      return scanProcesses({ jobId, uid: jobUser.uid });
    },
    async stop() {
      await service.stop(15_000);
      redis.disconnect();
      await redisServer.stop();
      if (o.s3Client) s3.destroy();
      await emulator.stop();
      if (o.dataDir)
        for (const f of readdirSync(dataDir)) rmSync(join(dataDir, f), { recursive: true, force: true });
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A job that is just `main.py` with this code. */
export async function pyJob(h: Harness, jobId: string, code: string, extra: Partial<JobMessageInput> = {}) {
  await h.put(`${jobId}/main.py`, code);
  return h.submit({ jobId, inputs: [{ uri: `s3://${BUCKET}/${jobId}/main.py` }], ...extra });
}
