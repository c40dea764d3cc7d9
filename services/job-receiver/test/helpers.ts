// Shared test wiring: job messages, an in-process receiver (the same parts main.ts wires) against a
// real Redis and fauxqs, and stream readers.
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  fieldsToRecord,
  type JobMessageInput,
  JobsEntry,
  type RedisNames,
  redisNames,
} from '@edgefleet/contracts';
import type { Emulator } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { JobStore } from '../src/adapters/job-store.js';
import { SqsPoller, type SqsPollerSettings } from '../src/adapters/sqs-poller.js';
import type { IntakePolicy } from '../src/core/intake.js';
import { SIGNATURE_ATTRIBUTE } from '../src/core/signature.js';
import { Intake } from '../src/intake.js';
import type { ReceiverMetrics } from '../src/metrics.js';

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
  names: RedisNames;
  store: JobStore;
  intake: Intake;
  poller: SqsPoller;
  close(): Promise<void>;
}

export const DEFAULT_POLICY: IntakePolicy = {
  allowedBuckets: [BUCKET],
  webhookAllowedHosts: ['hooks.example.com'],
  requireSignature: false,
};

export function startReceiver(opts: {
  redis: Redis;
  sqs: SQSClient;
  queueUrls: string[];
  logger: Logger;
  prefix?: string;
  policy?: Partial<IntakePolicy>;
  poller?: Partial<SqsPollerSettings>;
  metrics?: ReceiverMetrics;
}): Receiver {
  const names = redisNames(opts.prefix ?? unique('t'));
  const store = new JobStore({ redis: opts.redis, names, by: 'job-receiver', node: 'test-node' });
  const intake = new Intake({
    store,
    logger: opts.logger,
    policy: { ...DEFAULT_POLICY, ...opts.policy },
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  const poller = new SqsPoller({
    sqs: opts.sqs,
    queueUrls: opts.queueUrls,
    waitSeconds: 1,
    batchSize: 10,
    visibilitySeconds: 30,
    unusableVisibilitySeconds: 0,
    maxBacklog: 1000,
    logger: opts.logger,
    handle: (i) => intake.handle(i),
    backlog: (cap) => store.backlog(cap),
    canHandOff: async () => (await store.durabilityMode()) !== undefined,
    pauseCheckMs: 50,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...opts.poller,
  });
  poller.start();
  return {
    names,
    store,
    intake,
    poller,
    close: async () => {
      await poller.close();
      store.close();
    },
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
