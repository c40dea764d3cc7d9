// The HTTP surface of job-executor: health, readiness and metrics (service-kit), plus this service's
// one route, POST /v1/drain (drain.ts).
import { createHttpApp, type HttpApp, type ReadinessCheck, type ServiceDeps } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { SERVICE } from './config.js';
import { type Drain, registerDrainRoute } from './drain.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  drain: Drain;
  apiToken?: string;
  /** The metrics registry; absent: the app's own. */
  registry?: ServiceDeps['registry'];
}

export function buildApp(deps: AppDeps): HttpApp {
  const http = createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
  registerDrainRoute(http, deps.drain);
  return http;
}
