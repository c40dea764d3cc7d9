// The fastify app every service starts from: /healthz (the process is up), /readyz (its dependencies
// answer), /metrics (Prometheus text), JSON errors with stable codes, and a bearer-token guard for
// mutating routes whenever the server listens off loopback.
import { timingSafeEqual } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves true when the dependency answers. Must not throw; a throw counts as not ready. */
  check(): Promise<boolean>;
  /** Why the last check failed, shown in /readyz under `why` (optional). */
  why?(): string | null;
}

export interface HttpAppSettings {
  service: string;
  logger: Logger;
  checks?: ReadinessCheck[];
  registry?: Registry;
  /** Bearer token for mutating routes. */
  apiToken?: string;
  /** The address the server will bind: off loopback, mutating routes require apiToken. */
  host?: string;
  /** Largest accepted request body, in bytes (default 1 MiB). */
  bodyLimit?: number;
}

export const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '::ffff:127.0.0.1';

export interface MetricsRegistryOptions {
  /**
   * Sampling period of the event-loop lag histogram (nodejs_eventloop_lag_*), ms. prom-client's
   * default, 10 ms, is a native timer waking the process 100 times a second: about 0.2 CPU s/min on
   * an otherwise idle process (measured on Node 20), which dominates a service that is mostly idle.
   * A stall longer than the period is still recorded, only shorter ones are missed.
   *
   * The histogram's values are the time between two of its timer's firings, i.e. period + lag, so
   * with a period of 1 s its min/mean/p50…p99 read ≈ 1 s on an idle process: misleading. When the
   * period is set, those series are left out; nodejs_eventloop_lag_seconds (the lag of one
   * setImmediate, measured at each scrape) stays.
   */
  eventLoopMonitoringPrecision?: number;
}

/** The series derived from the lag histogram (prom-client's eventLoopLag collector). */
const LAG_HISTOGRAM_SERIES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
  (s) => `nodejs_eventloop_lag_${s}_seconds`,
);

export function createMetricsRegistry(service: string, options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({
    register: registry,
    ...(options.eventLoopMonitoringPrecision === undefined
      ? {}
      : { eventLoopMonitoringPrecision: options.eventLoopMonitoringPrecision }),
  });
  if (options.eventLoopMonitoringPrecision !== undefined)
    for (const name of LAG_HISTOGRAM_SERIES) registry.removeSingleMetric(name);
  return registry;
}

export interface HttpApp {
  app: FastifyInstance;
  registry: Registry;
  /** A preHandler for mutating routes: 401 without the right bearer token (when one is required). */
  requireToken(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/** Error body shape for every service: `{ error: { code, message } }`. */
export const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function createHttpApp(settings: HttpAppSettings): HttpApp {
  const registry = settings.registry ?? createMetricsRegistry(settings.service);
  const app: FastifyInstance = Fastify({
    loggerInstance: settings.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Request lines are not logged: the services log what they do, with the job id bound.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    // Errors the router raises before any route runs (a malformed %-escape in the URL): the same
    // `{ error: { code, message } }` body as every other error, not fastify's default shape.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      const status = err.statusCode ?? 400;
      void reply.status(status).send(errorBody(err.code, status >= 500 ? 'internal error' : err.message));
    },
  });
  const tokenRequired = settings.apiToken !== undefined || !isLoopback(settings.host ?? '127.0.0.1');
  const expected = settings.apiToken ? Buffer.from(settings.apiToken) : undefined;

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string; validation?: unknown }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500)
        settings.logger.error({ err: { message: err.message, code: err.code } }, 'request failed');
      const code = err.validation
        ? 'BAD_REQUEST'
        : (err.code ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'));
      void reply.status(status).send(errorBody(code, status >= 500 ? 'internal error' : err.message));
    },
  );
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send(errorBody('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  app.get('/healthz', async () => ({ status: 'ok', service: settings.service }));
  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(
      (settings.checks ?? []).map(async (c) => [c.name, await c.check().catch(() => false)] as const),
    );
    const ready = results.every(([, ok]) => ok);
    const why = Object.fromEntries(
      (settings.checks ?? []).flatMap((c, i) => {
        const text = results[i]?.[1] ? null : c.why?.();
        return text ? [[c.name, text] as const] : [];
      }),
    );
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      checks: Object.fromEntries(results),
      ...(Object.keys(why).length ? { why } : {}),
    });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  async function requireToken(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!tokenRequired) return;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (!expected) {
      await reply
        .status(401)
        .send(
          errorBody(
            'TOKEN_NOT_CONFIGURED',
            'this endpoint needs EDGEFLEET_API_TOKEN when listening off loopback',
          ),
        );
      return;
    }
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.status(401).send(errorBody('UNAUTHORIZED', 'missing or wrong bearer token'));
    }
  }

  return { app, registry, requireToken };
}
