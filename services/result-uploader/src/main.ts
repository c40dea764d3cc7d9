#!/usr/bin/env node
// config → the factory → signals (SIGTERM/SIGINT stop it within EDGEFLEET_SHUTDOWN_TIMEOUT_MS).
import { runService, startUntilSignal } from '@edgefleet/service-kit';
import { loadConfig, SERVICE } from './config.js';
import { createUploader } from './uploader.js';

await runService(
  SERVICE,
  () => loadConfig(process.env),
  (config) => startUntilSignal(createUploader(config), config.shutdownTimeoutMs),
);
