#!/usr/bin/env node
// The job-executor process: config, the factory (executor-service.ts), signals.
import { runService, startUntilSignal } from '@edgefleet/service-kit';
import { loadConfig, SERVICE } from './config.js';
import { createExecutor } from './executor-service.js';

await runService(
  SERVICE,
  () => loadConfig(process.env),
  async (c) => startUntilSignal(await createExecutor(c), c.shutdownTimeoutMs),
);
