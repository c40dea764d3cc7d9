#!/usr/bin/env node
// Wiring only: config → logger → adapters → start → shutdown (in reverse order).
import { SQSClient } from '@aws-sdk/client-sqs';
import { redisNames } from '@edgefleet/contracts';
import {
  closeRedis,
  createLogger,
  createMetricsRegistry,
  createRedis,
  detectGpuFact,
  errorFields,
  installShutdown,
  nodeNameOf,
  redisReachable,
  runService,
} from '@edgefleet/service-kit';
import { JobStore } from './adapters/job-store.js';
import { LogTailReader } from './adapters/log-tail.js';
import { RedisMemoryGate } from './adapters/redis-memory-gate.js';
import { SqsPoller } from './adapters/sqs-poller.js';
import { trimStreamToBudget } from './adapters/stream-trimmer.js';
import { buildApp } from './app.js';
import { type Config, loadConfig, SERVICE } from './config.js';
import { intakeBlockedByDisk } from './core/disk-watermark.js';
import { retentionCutoff } from './core/retention.js';
import { Intake } from './intake.js';
import { createReceiverMetrics } from './metrics.js';

async function start(config: Config): Promise<void> {
  const logger = createLogger({ service: SERVICE, level: config.logLevel });
  const node = nodeNameOf(config.nodeName);
  const names = redisNames(config.redisPrefix);
  const redis = createRedis({
    url: config.redisUrl,
    name: `${SERVICE}:commands`,
    logger,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
  });
  const registry = createMetricsRegistry(SERVICE);
  const metrics = createReceiverMetrics(registry);
  const store = new JobStore({
    redis,
    names,
    by: SERVICE,
    node,
    jobsMaxLen: config.jobsStreamMaxLen,
  });
  let diskWhy: string | null = null;
  const diskAllowsIntake = async () => {
    const [free, at] = await redis.hmget(names.deviceLoad, 'freeDiskBytes', 'updatedAt');
    const why = intakeBlockedByDisk(
      free !== null && at !== null ? { freeBytes: Number(free), at: Number(at) } : undefined,
      config.intakeMinFreeDiskBytes,
      Date.now(),
    );
    if (why !== diskWhy) {
      if (why) logger.warn({ why }, 'disk low: taking no jobs');
      else logger.info('disk above the watermark: taking jobs again');
      diskWhy = why;
    }
    return why === null;
  };
  const durable = async () => {
    if (!(await redisReachable(redis))) return false;
    const mode = await store.durabilityMode();
    return mode !== undefined && (mode !== 'none' || !config.requireDurability);
  };
  const memory = new RedisMemoryGate(redis, logger);
  const canHandOff = async () =>
    (await durable()) &&
    (await memory.check().catch(() => true)) &&
    (await diskAllowsIntake().catch(() => true));
  void store.durabilityInfo().then(
    (d) =>
      d.mode === 'none'
        ? logger.error(
            { durability: d },
            `writes are not durable${config.requireDurability ? ': hand-offs refused' : ''}`,
          )
        : logger.info({ durability: d }, 'durability'),
    () => logger.warn('redis not reachable at start; durability checked on connect'),
  );
  if (config.allowedBuckets.length === 0)
    logger.warn('EDGEFLEET_ALLOWED_BUCKETS is empty: jobs may name any bucket');

  const gpu = await detectGpuFact({ override: config.gpu, devRoot: config.deviceRoot });
  logger.info(
    { gpu: gpu.gpu, because: gpu.because },
    gpu.gpu ? 'GPU present' : 'no GPU: jobs needing one are rejected',
  );

  const intake = new Intake({
    store,
    logger,
    metrics,
    policy: {
      allowedBuckets: config.allowedBuckets,
      webhookAllowedHosts: config.webhookAllowedHosts,
      requireSignature: config.requireSignature,
      signingSecret: config.signingSecret,
      gpu: { present: gpu.gpu, because: gpu.because },
    },
  });

  // The SDK's standard variables configure region, credentials and AWS_ENDPOINT_URL. SDK v3 corrects
  // clock skew by itself (systemClockOffset from the server's Date header), which a Jetson without a
  // battery-backed clock needs; v2's `correctClockSkew` option does not exist in v3. With an endpoint
  // override (a VPC endpoint, the local emulator) the SDK would still send to each QueueUrl's host: the
  // override wins instead.
  const endpointOverride = Boolean(process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL);
  const sqs =
    config.queueUrls.length > 0 ? new SQSClient({ useQueueUrlAsEndpoint: !endpointOverride }) : undefined;
  const poller = sqs
    ? new SqsPoller({
        sqs,
        queueUrls: config.queueUrls,
        waitSeconds: config.sqsWaitSeconds,
        batchSize: config.sqsBatchSize,
        visibilitySeconds: config.sqsVisibilitySeconds,
        unusableVisibilitySeconds: config.unusableVisibilitySeconds,
        maxBacklog: config.maxBacklog,
        logger,
        metrics,
        handle: (input) => intake.handle(input),
        backlog: (cap) => store.backlog(cap),
        canHandOff,
      })
    : undefined;
  if (!poller) logger.warn('EDGEFLEET_QUEUE_URLS is empty: jobs arrive only through the HTTP API');

  const { app } = buildApp({
    logger,
    host: config.httpHost,
    registry,
    checks: [
      { name: 'redis', check: () => redisReachable(redis) },
      { name: 'durable', check: durable },
      { name: 'disk', check: () => diskAllowsIntake(), why: () => diskWhy },
      { name: 'redisMemory', check: () => memory.check(), why: () => memory.why() },
    ],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
    jobs: { intake, store, tail: new LogTailReader(redis, names), canHandOff },
  });

  const sweep = async () => {
    try {
      const removed = await store.trimIndex(retentionCutoff(Date.now(), config.retentionSeconds));
      if (removed) logger.info({ removed }, 'job index trimmed');
    } catch (err) {
      logger.warn({ err: errorFields(err) }, 'job index trim failed');
    }
  };
  const sweeper = setInterval(() => void sweep(), config.retentionSweepMs);
  sweeper.unref();
  void sweep();

  // Processed stream entries are kept only while the stream fits its memory budget.
  let trimming = false;
  const trimStreams = async () => {
    if (trimming) return;
    trimming = true;
    try {
      for (const stream of [names.jobsStream, names.resultsStream]) {
        const r = await trimStreamToBudget(redis, stream, config.streamMaxMiB * 2 ** 20);
        if (r.trimmed) logger.info(r, 'stream held to its memory budget');
        else if (r.held) logger.debug(r, 'stream over its memory budget, its entries not yet processed');
      }
    } catch (err) {
      logger.warn({ err: errorFields(err) }, 'stream trim failed');
    } finally {
      trimming = false;
    }
  };
  const streamTrimmer = setInterval(() => void trimStreams(), config.streamTrimMs);
  streamTrimmer.unref();

  await app.listen({ host: config.httpHost, port: config.port });
  poller?.start();
  logger.info(
    { port: config.port, host: config.httpHost, queues: config.queueUrls.length, node },
    `${SERVICE} listening`,
  );
  installShutdown({
    logger,
    deadlineMs: config.shutdownTimeoutMs,
    closers: [
      { name: 'sqs-poller', close: () => poller?.close() },
      { name: 'retention', close: () => clearInterval(sweeper) },
      { name: 'stream-trim', close: () => clearInterval(streamTrimmer) },
      { name: 'http', close: () => app.close() },
      { name: 'sqs', close: () => sqs?.destroy() },
      { name: 'job-store', close: () => store.close() },
      { name: 'redis', close: () => closeRedis(redis) },
    ],
  });
}

await runService(SERVICE, () => loadConfig(process.env), start);
