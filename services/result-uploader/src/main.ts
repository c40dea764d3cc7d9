#!/usr/bin/env node
// Wiring only: config → logger → adapters → start → shutdown (in reverse order).
import {
  closeRedis,
  createLogger,
  createRedis,
  installShutdown,
  redisReachable,
  runService,
} from '@edgefleet/service-kit';
import { buildApp } from './app.js';
import { type Config, loadConfig, SERVICE } from './config.js';

async function start(config: Config): Promise<void> {
  const logger = createLogger({ service: SERVICE, level: config.logLevel });
  const redis = createRedis({
    url: config.redisUrl,
    name: `${SERVICE}:commands`,
    logger,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
  });
  const { app } = buildApp({
    logger,
    host: config.httpHost,
    checks: [{ name: 'redis', check: () => redisReachable(redis) }],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
  });
  await app.listen({ host: config.httpHost, port: config.port });
  logger.info({ port: config.port, host: config.httpHost }, `${SERVICE} listening`);
  installShutdown({
    logger,
    deadlineMs: config.shutdownTimeoutMs,
    closers: [
      { name: 'http', close: () => app.close() },
      { name: 'redis', close: () => closeRedis(redis) },
    ],
  });
}

await runService(SERVICE, () => loadConfig(process.env), start);
