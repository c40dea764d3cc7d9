// The service's one factory: from its config (and optional injected clients, ServiceDeps) it builds
// the clients, adapters, the results consumer, the sweep and the HTTP app; main.ts and the tests run
// this same wiring. Whoever creates a client closes it: `stop()` closes the S3/SQS clients and,
// unless it was injected, the Redis connection. Nothing process-wide (signals, exit) is touched here:
// main.ts's startUntilSignal does that.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { maskUrlCredentials, type RedisNames, type ResultsEntry, redisNames } from '@edgefleet/contracts';
import {
  type Closer,
  closeAll,
  closeRedis,
  createMetricsRegistry,
  createRedis,
  instanceIdOf,
  nodeNameOf,
  type Redis,
  redisReachable,
  type ServiceDeps,
  type ServiceHandle,
  type StreamConsumer,
  serviceLogger,
} from '@edgefleet/service-kit';
import type { Registry } from 'prom-client';
import { createResultsConsumer, RESULTS_GROUP } from './adapters/results-consumer.js';
import { S3Writer } from './adapters/s3-writer.js';
import { SqsNotifier } from './adapters/sqs-notifier.js';
import { WebhookNotifier } from './adapters/webhook-notifier.js';
import { buildApp } from './app.js';
import { type Config, explicitWebhookAddresses, partSizeBytes, SERVICE } from './config.js';
import { explicitAddressList } from './core/address-policy.js';
import { createMetrics } from './metrics.js';
import { NotificationDispatcher } from './notification-dispatcher.js';
import { ResultProcessor } from './result-processor.js';
import { Sweeper } from './sweeper.js';

export interface UploaderInternals {
  node: string;
  names: RedisNames;
  redis: Redis;
  consumer: StreamConsumer<ResultsEntry>;
  sweeper: Sweeper;
  processor: ResultProcessor;
  registry: Registry;
}

/** The service's handle, plus its parts for tests that drive them directly (the sweep, the stats). */
export interface UploaderHandle extends ServiceHandle {
  readonly internals: UploaderInternals;
}

export interface UploaderDeps extends ServiceDeps {
  /** XREADGROUP block time in ms (tests shorten it, so that a stop ends a blocked read sooner). */
  blockMs?: number;
}

export function createUploader(config: Config, deps: UploaderDeps = {}): UploaderHandle {
  const logger = serviceLogger(deps, SERVICE, config.logLevel);
  const registry = deps.registry ?? createMetricsRegistry(SERVICE);
  const node = nodeNameOf(config.nodeName);
  const names = redisNames(config.redisPrefix);
  const metrics = createMetrics(registry);
  const redis =
    deps.redis ??
    createRedis({
      url: config.redisUrl,
      name: `${SERVICE}:commands`,
      logger,
      ...(config.redisPassword ? { password: config.redisPassword } : {}),
    });
  // Region, credentials and endpoint come from the SDK's standard environment (AWS_REGION,
  // AWS_ENDPOINT_URL…). SDK v3 corrects clock skew by itself (after a skew error it adopts the
  // server's clock offset; v2's `correctClockSkew` option has no v3 counterpart): Jetsons have no
  // battery-backed clock.
  // Short blips: the SDK's standard retry strategy, EDGEFLEET_UPLOAD_MAX_ATTEMPTS per request. Longer
  // outages: waited out per job (result-processor.ts). A link that swallows packets must fail as an
  // outage, not hang: connect within 10 s, no socket silent for more than 60 s.
  const s3 = new S3Client({
    forcePathStyle: config.s3ForcePathStyle,
    maxAttempts: config.uploadMaxAttempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  });
  // The queue URL names the queue; the endpoint comes from the SDK's settings (an emulator's queue URLs
  // carry host names that may not resolve). The queue must be in AWS_REGION.
  const sqs = config.resultsQueueUrl ? new SQSClient({ useQueueUrlAsEndpoint: false }) : undefined;
  const backoff = { baseMs: config.retryBaseMs, capMs: 30_000 };
  const dispatcher = new NotificationDispatcher({
    sqs: sqs && config.resultsQueueUrl ? new SqsNotifier(sqs, config.resultsQueueUrl) : undefined,
    webhook: config.webhookSecret
      ? new WebhookNotifier({
          secret: config.webhookSecret,
          timeoutMs: config.webhookTimeoutMs,
          explicitAddresses: explicitAddressList(explicitWebhookAddresses(config)),
        })
      : undefined,
    backoff,
    logger: logger.child({ component: 'notifier' }),
    metrics,
  });
  const processor = new ResultProcessor({
    redis,
    names,
    group: RESULTS_GROUP,
    service: SERVICE,
    node,
    s3: new S3Writer({
      client: s3,
      partSizeBytes: partSizeBytes(config),
      partConcurrency: config.uploadPartConcurrency,
      logger: logger.child({ component: 's3-writer' }),
      metrics,
    }),
    dispatcher,
    notify: {
      webhookUrl: config.webhookUrl,
      webhookAllowedHosts: config.webhookAllowedHosts,
      webhookAllowHttp: config.webhookAllowHttp,
      notifyOnRunning: config.notifyOnRunning,
    },
    allowedBuckets: config.outputBuckets,
    uploadConcurrency: config.uploadConcurrency,
    notifyDeadlineMs: config.notifyDeadlineMs,
    maxDeliveries: config.maxDeliveries,
    keepJobDirSeconds: config.keepJobDirSeconds,
    uploadOutageSeconds: config.uploadOutageSeconds,
    outageBackoff: backoff,
    logger,
    metrics,
  });
  const consumer = createResultsConsumer({
    redis,
    names,
    consumer: instanceIdOf(SERVICE, config.instanceId, node),
    dataDir: config.dataDir,
    processor,
    service: SERVICE,
    node,
    logger,
    maxDeliveries: config.maxDeliveries,
    claimIdleMs: config.claimIdleMs,
    concurrency: config.jobConcurrency,
    ...(deps.blockMs ? { blockMs: deps.blockMs } : {}),
  });
  const sweeper = new Sweeper({
    redis,
    names,
    dispatcher,
    service: SERVICE,
    dataDir: config.dataDir,
    intervalMs: config.sweepIntervalMs,
    deadlineMs: Math.min(config.notifyDeadlineMs, config.sweepIntervalMs),
    outageSeconds: config.notifyOutageSeconds,
    keepJobDirSeconds: config.keepJobDirSeconds,
    keepFailedSeconds: config.keepFailedSeconds,
    logger,
  });
  const { app } = buildApp({
    logger,
    host: config.httpHost,
    registry,
    checks: [{ name: 'redis', check: () => redisReachable(redis) }],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
  });
  const port = () => {
    const address = app.server.address();
    return address && typeof address === 'object' ? address.port : config.port;
  };
  return {
    service: SERVICE,
    logger,
    app,
    internals: { node, names, redis, consumer, sweeper, processor, registry },
    port,
    async start() {
      await app.listen({ host: config.httpHost, port: config.port });
      consumer.start();
      sweeper.start();
      logger.info(
        {
          port: port(),
          host: config.httpHost,
          node,
          outputBuckets: config.outputBuckets,
          resultsQueue: config.resultsQueueUrl ?? null,
          webhook: config.webhookUrl ? maskUrlCredentials(config.webhookUrl) : null,
        },
        `${SERVICE} listening`,
      );
      if (!config.resultsQueueUrl && !config.webhookUrl && config.webhookAllowedHosts.length === 0)
        logger.warn('no results queue and no webhook configured: the server will not be notified');
    },
    // The reverse of start-up: the loops (the consumer waits for its jobs in flight, aborting them
    // 1 s before its share of the deadline ends), the HTTP server, then the clients created here.
    stop(deadlineMs = config.shutdownTimeoutMs) {
      const closers: Closer[] = [
        { name: 'results-consumer', close: () => consumer.stop(Math.max(1000, deadlineMs - 2000)) },
        { name: 'sweeper', close: () => sweeper.close() },
        { name: 'http', close: () => app.close() },
        { name: 'sqs', close: () => sqs?.destroy() },
        { name: 's3', close: () => s3.destroy() },
        ...(deps.redis ? [] : [{ name: 'redis', close: () => closeRedis(redis) }]),
      ];
      return closeAll(closers, deadlineMs, logger);
    },
  };
}
