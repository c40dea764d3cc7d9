// The HTTP surface of job-receiver: health, readiness and metrics (service-kit), plus this service's routes.
import { createHttpApp, type HttpApp, type ReadinessCheck } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { SERVICE } from './config.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  apiToken?: string;
}

export function buildApp(deps: AppDeps): HttpApp {
  return createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
  });
}
