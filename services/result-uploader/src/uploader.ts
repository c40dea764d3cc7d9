// Builds the service from its config: clients, adapters, the results consumer and the sweep. main.ts
// adds the logger, the HTTP app and the signal handlers; tests build the same thing in-process.
// Whoever creates a client closes it: `close()` stops the consumer and the sweep, then closes the
// clients created here, in reverse order.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type RedisNames, type ResultsEntry, redisNames } from '@edgefleet/contracts';
import {
  type Closer,
  closeRedis,
  createRedis,
  instanceIdOf,
  nodeNameOf,
  type Redis,
  type StreamConsumer,
} from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createResultsConsumer, RESULTS_GROUP } from './adapters/results-consumer.js';
import { S3Writer } from './adapters/s3-writer.js';
import { SqsNotifier } from './adapters/sqs-notifier.js';
import { WebhookNotifier } from './adapters/webhook-notifier.js';
import { type Config, explicitWebhookAddresses, partSizeBytes, SERVICE } from './config.js';
import { explicitAddressList } from './core/address-policy.js';
import { createMetrics } from './metrics.js';
import { NotificationDispatcher } from './notification-dispatcher.js';
import { ResultProcessor } from './result-processor.js';
import { Sweeper } from './sweeper.js';

export interface Uploader {
  node: string;
  names: RedisNames;
  redis: Redis;
  consumer: StreamConsumer<ResultsEntry>;
  sweeper: Sweeper;
  processor: ResultProcessor;
  start(): void;
  /** Closers in shutdown order (consumer first, clients last). */
  closers(shutdownMs: number): Closer[];
  close(shutdownMs?: number): Promise<void>;
}

export interface UploaderDeps {
  logger: Logger;
  registry: Registry;
  /** XREADGROUP block time in ms (tests shorten it). */
  blockMs?: number;
}

export function createUploader(config: Config, deps: UploaderDeps): Uploader {
  const { logger } = deps;
  const node = nodeNameOf(config.nodeName);
  const names = redisNames(config.redisPrefix);
  const metrics = createMetrics(deps.registry);
  const redis = createRedis({
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
  const closers = (shutdownMs: number): Closer[] => [
    { name: 'results-consumer', close: () => consumer.stop(Math.max(1000, shutdownMs - 2000)) },
    { name: 'sweeper', close: () => sweeper.close() },
    { name: 'sqs', close: () => sqs?.destroy() },
    { name: 's3', close: () => s3.destroy() },
    { name: 'redis', close: () => closeRedis(redis) },
  ];
  return {
    node,
    names,
    redis,
    consumer,
    sweeper,
    processor,
    start() {
      consumer.start();
      sweeper.start();
    },
    closers,
    async close(shutdownMs = 5000) {
      for (const c of closers(shutdownMs)) await c.close();
    },
  };
}
