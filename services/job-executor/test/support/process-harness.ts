// The built executor (dist/main.js) run as a process, as on a device, against a real redis-server
// and fauxqs: for tests that kill it, signal it or restart it. One data folder, Redis prefix and
// instance id for the whole file, so an executor started again finds what the previous one left.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  encodeEntry,
  fieldsToRecord,
  type JobMessageInput,
  JobMessageV1,
  type JobsEntry,
  type RedisNames,
  redisNames,
} from '@edgefleet/contracts';
import { type Redis, transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  freePort,
  type RedisServer,
  type ServiceProcess,
  startEmulator,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { ensureUser } from './harness.js';

export const EXECUTOR_ENTRY = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ProcessHarness {
  redisServer: RedisServer;
  redis: Redis;
  emulator: Emulator;
  names: RedisNames;
  bucket: string;
  dataDir: string;
  /** Every executor process started, in order. */
  procs: ServiceProcess[];
  /** Starts an executor; resolves once its `waitFor` endpoint answers. */
  start(): Promise<{ p: ServiceProcess; url: string }>;
  put(key: string, body: string): Promise<void>;
  /** Creates the record (QUEUED) and the `jobs` entry atomically, as the receiver does. */
  submit(msg: Partial<JobMessageInput> & Pick<JobMessageInput, 'jobId' | 'inputs'>): Promise<void>;
  /** The results entries of a job, decoded. */
  results(jobId: string): Promise<Record<string, unknown>[]>;
  /** Kills every executor started, stops Redis and fauxqs, removes the data folder. */
  stop(): Promise<void>;
}

export async function startProcessHarness(o: {
  /** Names the Redis prefix, the instance id, the data folder and the bucket. */
  name: string;
  user: string;
  redisPassword?: string;
  /** Variables over the common ones (short kill grace, no pip index, no seeded pip, no disk reserve). */
  env?: Record<string, string>;
  /** The endpoint whose answer means started (default /healthz). */
  waitFor?: '/healthz' | '/readyz';
}): Promise<ProcessHarness> {
  ensureUser(o.user);
  const bucket = `${o.name}-inputs`;
  const redisServer = await startRedisServer(o.redisPassword ? { password: o.redisPassword } : {});
  const redis = redisServer.client();
  const emulator = await startEmulator();
  emulator.createBucket(bucket);
  const dataDir = mkdtempSync(join(tmpdir(), `edgefleet-${o.name}-`));
  chmodSync(dataDir, 0o755); // the job user must reach its workspace
  const names = redisNames(o.name);
  const procs: ServiceProcess[] = [];
  const h: ProcessHarness = {
    redisServer,
    redis,
    emulator,
    names,
    bucket,
    dataDir,
    procs,
    async start() {
      const port = await freePort();
      const p = startServiceProcess(EXECUTOR_ENTRY, {
        env: {
          ...emulator.env(),
          EDGEFLEET_PORT: String(port),
          EDGEFLEET_REDIS_URL: redisServer.url,
          EDGEFLEET_REDIS_PREFIX: names.prefix,
          EDGEFLEET_DATA_DIR: dataDir,
          EDGEFLEET_ALLOWED_BUCKETS: bucket,
          EDGEFLEET_JOB_USER: o.user,
          EDGEFLEET_INSTANCE_ID: `executor-${o.name}-test`,
          EDGEFLEET_KILL_GRACE_MS: '500',
          EDGEFLEET_ENV_SEED_PIP: 'false',
          EDGEFLEET_PIP_NO_INDEX: 'true',
          EDGEFLEET_MIN_FREE_DISK_BYTES: '0',
          ...o.env,
        },
      });
      procs.push(p);
      const url = `http://127.0.0.1:${port}`;
      await p.waitForHttp(`${url}${o.waitFor ?? '/healthz'}`);
      return { p, url };
    },
    async put(key, body) {
      await emulator.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async submit(msg) {
      const message = JobMessageV1.parse({
        version: 1,
        kind: 'job',
        code: { entrypoint: 'main.py' },
        output: { uri: `s3://${bucket}/out/` },
        ...msg,
      });
      const e: JobsEntry = { jobId: message.jobId, message, receivedAt: Date.now(), source: 'http' };
      const r = await transitionJob(redis, names, {
        jobId: message.jobId,
        to: 'QUEUED',
        from: ['NEW'],
        by: 'test',
        now: Date.now(),
        set: { message: JSON.stringify(message) },
        xadd: [{ stream: names.jobsStream, fields: encodeEntry(e) }],
      });
      if (!r.ok) throw new Error(`submit refused: ${r.status}`);
    },
    async results(jobId) {
      return ((await redis.xrange(names.resultsStream, '-', '+')) as [string, string[]][])
        .map(([, f]) => fieldsToRecord(f))
        .filter((f) => f.jobId === jobId)
        .map((f) => JSON.parse(f.data ?? '{}'));
    },
    async stop() {
      for (const p of procs) await p.stop('SIGKILL', 100);
      redis.disconnect();
      await redisServer.stop();
      await emulator.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
