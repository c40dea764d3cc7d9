// The HTTP surface of result-uploader: service-kit's health, readiness and metrics, and nothing else (the
// service takes its work from the results stream, never over HTTP).
import { createHttpApp, type HttpApp, type ReadinessCheck } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SERVICE } from './config.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  apiToken?: string;
  /** The registry this service's metrics are on (default: a new one). */
  registry?: Registry;
}

export function buildApp(deps: AppDeps): HttpApp {
  return createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
  });
}
