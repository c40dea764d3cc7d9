// An in-process executor wired like main.ts against a real redis-server, fauxqs and python, plus
// helpers to submit jobs the way the receiver does (record QUEUED + XADD in one transition) and to
// read what the executor handed to the uploader.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  decodeEntry,
  encodeEntry,
  fieldsToRecord,
  GROUPS,
  type JobMessageInput,
  JobMessageV1,
  JobsEntry,
  type RedisNames,
  ResultsEntry,
  redisNames,
} from '@edgefleet/contracts';
import {
  jobDeadLetter,
  type Redis,
  StreamConsumer,
  silentLogger,
  transitionJob,
} from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  type RedisServer,
  startEmulator,
  startRedisServer,
} from '@edgefleet/testkit';
import type { Logger } from 'pino';
import { startCancelWatch } from '../../src/adapters/cancel-watch.js';
import { type CgroupSupport, detectCgroups } from '../../src/adapters/cgroup.js';
import { startControlSubscriber } from '../../src/adapters/control-subscriber.js';
import { type JobUser, resolveJobUser } from '../../src/adapters/job-user.js';
import { scanProcesses } from '../../src/adapters/proc-scan.js';
import { RunStateStore } from '../../src/adapters/run-state.js';
import { createEnvironmentManager } from '../../src/env/index.js';
import type { PipSettings } from '../../src/env/pip-env.js';
import type { EnvironmentManager } from '../../src/env/types.js';
import { BY, type ExecutorDeps, type ExecutorSettings, JobExecutor } from '../../src/executor.js';

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

export const defaultSettings = (dataDir: string): ExecutorSettings => ({
  dataDir,
  maxAttempts: 2,
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
});

export interface Harness {
  redis: Redis;
  redisServer: RedisServer;
  emulator: Emulator;
  s3: S3Client;
  names: RedisNames;
  dataDir: string;
  envCacheDir: string;
  jobUser: JobUser;
  cgroups: CgroupSupport;
  environments: EnvironmentManager;
  executor: JobExecutor;
  consumer: StreamConsumer<JobsEntry>;
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
  settings?: Partial<ExecutorSettings>;
  logger?: Logger;
  redisPassword?: string;
  serviceEnv?: Record<string, string>;
  /** Build environments as the job user, as main.ts does by default (EDGEFLEET_ENV_BUILD_AS_JOB_USER). */
  buildAsJobUser?: boolean;
  /** The device's pip settings (default: no index). */
  pip?: Partial<PipSettings>;
  /** The executor's S3 client (default: the emulator's), e.g. one that goes through a fault proxy. */
  s3Client?: (emulator: Emulator) => Promise<S3Client>;
  /** The data folder (default: a new temp folder), e.g. a small tmpfs; emptied, not removed, at stop. */
  dataDir?: string;
  /** redis-server's data folder (its AOF), e.g. on the small disk of dataDir; default its own temp folder. */
  redisDir?: string;
  /** How often running jobs' cancel flags are re-read, in ms (default 2000, the product's). */
  cancelCheckMs?: number;
  /** Extra executor dependencies (clock, random source, outage backoff). */
  deps?: Pick<ExecutorDeps, 'random' | 'outageBackoff' | 'now'>;
}): Promise<Harness> {
  ensureUser(o.user);
  const redisServer = await startRedisServer({
    ...(o.redisPassword ? { password: o.redisPassword } : {}),
    ...(o.redisDir ? { dir: o.redisDir } : {}),
  });
  const emulator = await startEmulator();
  emulator.createBucket(BUCKET);
  emulator.createBucket(FOREIGN_BUCKET);
  const s3 = o.s3Client ? await o.s3Client(emulator) : emulator.s3();
  const redis = redisServer.client();
  const names = redisNames(`t${Math.random().toString(36).slice(2, 8)}`);
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'edgefleet-exec-'));
  chmodSync(dataDir, 0o755); // the job user must reach the venvs and its workspace
  const envCacheDir = join(dataDir, 'envs');
  const settings = { ...defaultSettings(dataDir), ...o.settings };
  const logger = o.logger ?? silentLogger();
  const jobUser = await resolveJobUser(o.user);
  const cgroups = await detectCgroups();
  const environments = createEnvironmentManager({
    cacheDir: envCacheDir,
    maxCacheBytes: 2 * 1024 * 1024 * 1024,
    python: '/usr/bin/python3',
    seedPip: false,
    pip: o.pip ?? { noIndex: true },
    minFreeBytes: 0,
    logger,
    ...(o.buildAsJobUser && jobUser.dedicated ? { buildUser: jobUser } : {}),
  });
  const executor = new JobExecutor({
    settings,
    redis,
    names,
    s3,
    environments,
    cgroups,
    jobUser,
    runState: new RunStateStore(dataDir),
    logger,
    node: 'test-node',
    ...o.deps,
    serviceEnv: {
      ...process.env,
      AWS_SECRET_ACCESS_KEY: 'very-secret-aws',
      EDGEFLEET_API_TOKEN: 'very-secret-token',
      EDGEFLEET_REDIS_PASSWORD: 'very-secret-redis',
      ...o.serviceEnv,
    },
  });
  const consumer = new StreamConsumer<JobsEntry>({
    redis,
    stream: names.jobsStream,
    group: GROUPS.executor,
    consumer: 'executor-test',
    deadStream: names.deadStream,
    decode: (f) => decodeEntry(JobsEntry, f),
    handle: (e, s) => executor.handle(e, s),
    deadLetter: jobDeadLetter({ redis, names, stream: names.jobsStream, group: GROUPS.executor, by: BY }),
    logger,
    maxDeliveries: 3,
    claimIdleMs: 1000,
    blockMs: 200,
    concurrency: settings.concurrency,
  });
  const control = startControlSubscriber({
    redis,
    channel: names.controlChannel,
    onCancel: (id) => executor.cancel(id),
    logger,
  });
  await control.ready;
  const cancels = startCancelWatch({
    redis,
    names,
    running: () => executor.runningIds(),
    cancel: (id) => executor.cancel(id),
    intervalMs: o.cancelCheckMs ?? 2000,
    logger,
  });
  consumer.start();

  const h: Harness = {
    redis,
    redisServer,
    emulator,
    s3,
    names,
    dataDir,
    envCacheDir,
    jobUser,
    cgroups,
    environments,
    executor,
    consumer,
    settings,
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
      await consumer.stop(5000);
      await control.close();
      cancels.close();
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
