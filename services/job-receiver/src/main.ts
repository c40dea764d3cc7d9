#!/usr/bin/env node
// The job-receiver process: configuration, the factory (receiver.ts), and the signals.
import { runService, startUntilSignal } from '@edgefleet/service-kit';
import { loadConfig, SERVICE } from './config.js';
import { createReceiver } from './receiver.js';

await runService(
  SERVICE,
  () => loadConfig(process.env),
  async (c) => startUntilSignal(await createReceiver(c), c.shutdownTimeoutMs),
);
