// The HTTP app of job-executor: service-kit's health, readiness and metrics routes. The service's own
// route, POST /v1/drain, is registered on it by createExecutor (drain.ts, registerDrainRoute).
import { createHttpApp, type HttpApp, type ReadinessCheck, type ServiceDeps } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { SERVICE } from './config.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  apiToken?: string;
  /** The metrics registry; absent: the app's own. */
  registry?: ServiceDeps['registry'];
}

export function buildApp(deps: AppDeps): HttpApp {
  return createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
}
