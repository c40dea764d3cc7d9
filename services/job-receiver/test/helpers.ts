// Shared test wiring: job messages, the receiver built by its factory against a real Redis and fauxqs,
// the SQS poller alone, and stream readers.
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type ErrorResponse,
  fieldsToRecord,
  type JobMessageInput,
  type JobRecord,
  type JobState,
  type JobSubmitResponse,
  JobsEntry,
  type ReasonCode,
  type RedisNames,
  redisNames,
} from '@edgefleet/contracts';
import type { ServiceHandle } from '@edgefleet/service-kit';
import type { Emulator } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { SqsPoller, type SqsPollerSettings } from '../src/adapters/sqs-poller.js';
import { loadConfig } from '../src/config.js';
import type { IntakePolicy } from '../src/core/intake.js';
import { SIGNATURE_ATTRIBUTE } from '../src/core/signature.js';
import type { IncomingBody, IntakeOutcome } from '../src/job-intake.js';
import { createReceiver } from '../src/receiver.js';

export const BUCKET = 'fleet-bucket';

export function jobMessage(jobId: string, extra: Partial<JobMessageInput> = {}): JobMessageInput {
  return {
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: `s3://${BUCKET}/code/main.py` }],
    output: { uri: `s3://${BUCKET}/results/` },
    ...extra,
  };
}

let seq = 0;
/** A unique name for a test's queue / prefix / job ids. */
export const unique = (base: string) => `${base}-${process.pid}-${++seq}-${Date.now().toString(36)}`;

export function sqsClient(emu: Emulator): SQSClient {
  return new SQSClient({ endpoint: emu.endpoint, region: emu.region, credentials: emu.credentials });
}

export async function send(
  sqs: SQSClient,
  queueUrl: string,
  body: string,
  signature?: string,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      ...(signature
        ? { MessageAttributes: { [SIGNATURE_ATTRIBUTE]: { DataType: 'String', StringValue: signature } } }
        : {}),
    }),
  );
}

export interface Receiver {
  /** The service, built by its factory and started. */
  service: ServiceHandle;
  names: RedisNames;
  /** The job record through the job API (GET /v1/jobs/:id); null when there is none. */
  get(jobId: string): Promise<JobRecord | null>;
  state(jobId: string): Promise<JobState | null>;
  /** POST /v1/jobs: the status and the JSON answer. */
  submit(body: string, headers?: Record<string, string>): Promise<{ status: number; body: SubmitAnswer }>;
  /** The Prometheus exposition (GET /metrics). */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** The job API's answer to a submit: an outcome, or an error. */
export type SubmitAnswer = JobSubmitResponse & Partial<Pick<ErrorResponse, 'error'>>;

export const DEFAULT_POLICY: IntakePolicy = {
  allowedBuckets: [BUCKET],
  webhookAllowedHosts: ['hooks.example.com'],
  requireSignature: false,
};

/** The receiver's settings for tests, as EDGEFLEET_* variables (overridden by `env`). */
export function testEnv(opts: {
  prefix: string;
  queueUrls: string[];
  policy?: Partial<IntakePolicy>;
  poller?: Partial<
    Pick<
      SqsPollerSettings,
      'waitSeconds' | 'batchSize' | 'visibilitySeconds' | 'unusableVisibilitySeconds' | 'maxBacklog'
    >
  >;
  env?: Record<string, string>;
}): Record<string, string> {
  const policy = { ...DEFAULT_POLICY, ...opts.policy };
  const p = opts.poller ?? {};
  return {
    EDGEFLEET_REDIS_PREFIX: opts.prefix,
    EDGEFLEET_NODE_NAME: 'test-node',
    EDGEFLEET_PORT: '0',
    EDGEFLEET_QUEUE_URLS: opts.queueUrls.join(','),
    EDGEFLEET_SQS_WAIT_SECONDS: String(p.waitSeconds ?? 1),
    EDGEFLEET_SQS_BATCH_SIZE: String(p.batchSize ?? 10),
    EDGEFLEET_SQS_VISIBILITY_SECONDS: String(p.visibilitySeconds ?? 30),
    EDGEFLEET_UNUSABLE_VISIBILITY_SECONDS: String(p.unusableVisibilitySeconds ?? 0),
    EDGEFLEET_MAX_BACKLOG: String(p.maxBacklog ?? 1000),
    EDGEFLEET_ALLOWED_BUCKETS: policy.allowedBuckets.join(','),
    EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: policy.webhookAllowedHosts.join(','),
    EDGEFLEET_REQUIRE_SIGNATURE: String(policy.requireSignature),
    ...(policy.signingSecret ? { EDGEFLEET_SIGNING_SECRET: policy.signingSecret } : {}),
    // A GPU present: no job is refused for want of one (gpu.test.ts covers that, with the process).
    EDGEFLEET_GPU: 'true',
    // The tests' redis-servers may run without AOF; no executor writes the disk reading.
    EDGEFLEET_REQUIRE_DURABILITY: 'false',
    EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES: '0',
    ...opts.env,
  };
}

/**
 * The receiver as main.ts builds it (createReceiver), on the test's Redis connection and SQS client,
 * listening on a free loopback port.
 */
export async function startReceiver(opts: {
  redis: Redis;
  /** The SQS client (needed with queue URLs). */
  sqs?: SQSClient;
  queueUrls: string[];
  logger: Logger;
  prefix?: string;
  policy?: Partial<IntakePolicy>;
  poller?: Parameters<typeof testEnv>[0]['poller'];
  env?: Record<string, string>;
}): Promise<Receiver> {
  const prefix = opts.prefix ?? unique('t');
  const config = loadConfig(testEnv({ ...opts, prefix }));
  const service = await createReceiver(config, {
    redis: opts.redis,
    logger: opts.logger,
    ...(opts.sqs ? { sqs: opts.sqs } : {}),
  });
  await service.start();
  const get = async (jobId: string): Promise<JobRecord | null> => {
    const r = await service.app.inject({ method: 'GET', url: `/v1/jobs/${encodeURIComponent(jobId)}` });
    if (r.statusCode === 404) return null;
    if (r.statusCode !== 200) throw new Error(`GET /v1/jobs/${jobId}: ${r.statusCode} ${r.body}`);
    return r.json() as JobRecord;
  };
  return {
    service,
    names: redisNames(prefix),
    get,
    state: async (jobId) => (await get(jobId))?.state ?? null,
    submit: async (body, headers = {}) => {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'content-type': 'application/json', ...headers },
        payload: body,
      });
      return { status: r.statusCode, body: r.json() as SubmitAnswer };
    },
    metrics: async () => (await service.app.inject({ method: 'GET', url: '/metrics' })).body,
    close: async () => {
      if (!(await service.stop(10_000))) throw new Error('the receiver did not stop cleanly');
    },
  };
}

/**
 * The poller alone (the adapter under test), for what only it decides: the heartbeat, a hand-off that
 * outlives the visibility, releasing messages on close. `handle` stands for the intake.
 */
export function startPoller(
  opts: Pick<SqsPollerSettings, 'sqs' | 'queueUrls' | 'logger' | 'handle'> & Partial<SqsPollerSettings>,
): SqsPoller {
  const poller = new SqsPoller({
    waitSeconds: 1,
    batchSize: 10,
    visibilitySeconds: 30,
    unusableVisibilitySeconds: 0,
    maxBacklog: 1000,
    backlog: async () => 0,
    canHandOff: async () => true,
    ...opts,
  });
  poller.start();
  return poller;
}

/** An intake for startPoller that hands each body to a running receiver through its job API. */
export function viaJobApi(r: Receiver): (input: IncomingBody) => Promise<IntakeOutcome> {
  return async (input) => {
    const { status, body } = await r.submit(
      input.body,
      input.signature ? { 'x-edgefleet-signature': input.signature } : {},
    );
    if (status === 503) throw new Error('receiver unavailable');
    if (body.error)
      return {
        kind: 'unusable',
        code: body.error.code as ReasonCode,
        detail: body.error.message,
        bodyHash: '',
      };
    return { ...body, kind: body.outcome } as unknown as IntakeOutcome;
  };
}

/** Every entry of the jobs stream, decoded. */
export async function jobsInStream(redis: Redis, names: RedisNames): Promise<JobsEntry[]> {
  const entries = (await redis.xrange(names.jobsStream, '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => JobsEntry.parse(JSON.parse(fieldsToRecord(f).data ?? '')));
}

/** Every entry of the results stream, as parsed JSON. */
export async function resultsInStream(redis: Redis, names: RedisNames): Promise<Record<string, unknown>[]> {
  const entries = (await redis.xrange(names.resultsStream, '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => JSON.parse(fieldsToRecord(f).data ?? '{}'));
}

/** Counts of the queue's messages (fauxqs inspection endpoint). */
export async function queueCounts(
  emu: Emulator,
  queueName: string,
): Promise<{ ready: number; inflight: number; delayed: number }> {
  const r = await fetch(`${emu.endpoint}/_fauxqs/queues/${queueName}`);
  const j = (await r.json()) as { messages: { ready: unknown[]; inflight: unknown[]; delayed: unknown[] } };
  return {
    ready: j.messages.ready.length,
    inflight: j.messages.inflight.length,
    delayed: j.messages.delayed.length,
  };
}
