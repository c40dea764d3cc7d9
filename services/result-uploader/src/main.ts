#!/usr/bin/env node
// Wiring only: config → logger → adapters → start → shutdown (in reverse order).
import { maskUrlCredentials } from '@edgefleet/contracts';
import {
  createLogger,
  createMetricsRegistry,
  installShutdown,
  redisReachable,
  runService,
} from '@edgefleet/service-kit';
import { buildApp } from './app.js';
import { type Config, loadConfig, SERVICE } from './config.js';
import { createUploader } from './uploader.js';

async function start(config: Config): Promise<void> {
  const logger = createLogger({ service: SERVICE, level: config.logLevel });
  const registry = createMetricsRegistry(SERVICE);
  const uploader = createUploader(config, { logger, registry });
  const { app } = buildApp({
    logger,
    host: config.httpHost,
    registry,
    checks: [{ name: 'redis', check: () => redisReachable(uploader.redis) }],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
  });
  await app.listen({ host: config.httpHost, port: config.port });
  uploader.start();
  logger.info(
    {
      port: config.port,
      host: config.httpHost,
      node: uploader.node,
      outputBuckets: config.outputBuckets,
      resultsQueue: config.resultsQueueUrl ?? null,
      webhook: config.webhookUrl ? maskUrlCredentials(config.webhookUrl) : null,
    },
    `${SERVICE} listening`,
  );
  if (!config.resultsQueueUrl && !config.webhookUrl && config.webhookAllowedHosts.length === 0)
    logger.warn('no results queue and no webhook configured: the server will not be notified');
  installShutdown({
    logger,
    deadlineMs: config.shutdownTimeoutMs,
    closers: [{ name: 'http', close: () => app.close() }, ...uploader.closers(config.shutdownTimeoutMs)],
  });
}

await runService(SERVICE, () => loadConfig(process.env), start);
