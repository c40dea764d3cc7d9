// The job-receiver service: its one factory. Builds the clients it is not given, the job store, the
// intake, the SQS poller, the hand-off gates (Redis durable, Redis memory, data disk), the index and
// stream sweeps and the HTTP app; start() listens and starts the poller and the sweeps; stop() closes
// them in the reverse order. No process-wide effect (signals, exit, umask): main.ts owns those, and
// the same process may host every service.
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { redisNames } from '@edgefleet/contracts';
import {
  type Closer,
  closeAll,
  closeRedis,
  createMetricsRegistry,
  createRedis,
  detectGpuFact,
  errorFields,
  nodeNameOf,
  redisReachable,
  type ServiceDeps,
  type ServiceHandle,
  serviceLogger,
} from '@edgefleet/service-kit';
import { JobStore } from './adapters/job-store.js';
import { LogTailReader } from './adapters/log-tail.js';
import { RedisMemoryGate } from './adapters/redis-memory-gate.js';
import { SqsPoller } from './adapters/sqs-poller.js';
import { trimStreamToBudget } from './adapters/stream-trimmer.js';
import { buildApp } from './app.js';
import { type Config, SERVICE } from './config.js';
import { intakeBlockedByDisk } from './core/disk-watermark.js';
import { retentionCutoff } from './core/retention.js';
import { JobIntake } from './job-intake.js';
import { createReceiverMetrics } from './metrics.js';

/** ServiceDeps, plus the SQS client (absent: one from the SDK's standard variables, closed on stop). */
export interface ReceiverDeps extends ServiceDeps {
  sqs?: SQSClient;
}

export async function createReceiver(config: Config, deps: ReceiverDeps = {}): Promise<ServiceHandle> {
  const logger = serviceLogger(deps, SERVICE, config.logLevel);
  const node = nodeNameOf(config.nodeName);
  const names = redisNames(config.redisPrefix);
  const ownRedis = deps.redis
    ? undefined
    : createRedis({
        url: config.redisUrl,
        name: `${SERVICE}:commands`,
        logger,
        ...(config.redisPassword ? { password: config.redisPassword } : {}),
      });
  const redis = deps.redis ?? (ownRedis as NonNullable<typeof ownRedis>);
  const registry = deps.registry ?? createMetricsRegistry(SERVICE);
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
  if (config.allowedBuckets.length === 0)
    logger.warn('EDGEFLEET_ALLOWED_BUCKETS is empty: jobs may name any bucket');

  const gpu = await detectGpuFact({ override: config.gpu, devRoot: config.deviceRoot });
  logger.info(
    { gpu: gpu.gpu, because: gpu.because },
    gpu.gpu ? 'GPU present' : 'no GPU: jobs needing one are rejected',
  );

  const intake = new JobIntake({
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
  const ownSqs =
    !deps.sqs && config.queueUrls.length > 0
      ? new SQSClient({ useQueueUrlAsEndpoint: !endpointOverride })
      : undefined;
  const sqs = config.queueUrls.length > 0 ? (deps.sqs ?? ownSqs) : undefined;
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

  let sweeper: NodeJS.Timeout | undefined;
  let streamTrimmer: NodeJS.Timeout | undefined;
  // Reverse of start-up: the loops, the HTTP server, then the clients this factory created.
  const closers: Closer[] = [
    { name: 'sqs-poller', close: () => poller?.close() },
    { name: 'retention', close: () => clearInterval(sweeper) },
    { name: 'stream-trim', close: () => clearInterval(streamTrimmer) },
    { name: 'http', close: () => app.close() },
    { name: 'sqs', close: () => ownSqs?.destroy() },
    { name: 'job-store', close: () => store.close() },
    { name: 'redis', close: () => (ownRedis ? closeRedis(ownRedis) : undefined) },
  ];

  const port = () => (app.server.address() as AddressInfo | null)?.port ?? config.port;
  return {
    service: SERVICE,
    logger,
    app,
    async start() {
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
      sweeper = setInterval(() => void sweep(), config.retentionSweepMs);
      sweeper.unref();
      void sweep();
      streamTrimmer = setInterval(() => void trimStreams(), config.streamTrimMs);
      streamTrimmer.unref();
      await app.listen({ host: config.httpHost, port: config.port });
      poller?.start();
      logger.info(
        { port: port(), host: config.httpHost, queues: config.queueUrls.length, node },
        `${SERVICE} listening`,
      );
    },
    stop: (deadlineMs = config.shutdownTimeoutMs) => closeAll(closers, deadlineMs, logger),
    port,
  };
}
