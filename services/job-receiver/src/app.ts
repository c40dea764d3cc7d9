// The HTTP surface of job-receiver: health, readiness and metrics (service-kit), the OpenAPI document
// and the node's job API under /v1 (the same schema and the same path into the stream as SQS).
import {
  type ErrorResponse,
  isTerminal,
  JobCancelBody,
  JobId,
  type JobList,
  JobListQuery,
  JobLogsQuery,
  type JobState,
  type JobSubmitResponse,
  LOG_TAIL_MAXLEN,
  type LogFollowChunk,
  type LogFollowEnd,
  type LogTailResponse,
} from '@edgefleet/contracts';
import {
  createHttpApp,
  errorBody,
  errorFields,
  type HttpApp,
  type ReadinessCheck,
  sleep,
} from '@edgefleet/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { JobStore } from './adapters/job-store.js';
import type { LogTailReader } from './adapters/log-tail.js';
import { SERVICE } from './config.js';
import { decodeCursor, encodeCursor } from './core/cursor.js';
import { SIGNATURE_HEADER } from './core/signature.js';
import { sseComment, sseEvent } from './core/sse.js';
import type { IntakeOutcome, JobIntake } from './job-intake.js';
import { renderOpenApi } from './openapi.js';

export interface AppDeps {
  logger: Logger;
  checks: ReadinessCheck[];
  host: string;
  apiToken?: string;
  registry?: Registry;
  /** The job API; absent = only health, readiness, metrics and the OpenAPI document. */
  jobs?: {
    intake: JobIntake;
    store: JobStore;
    tail: LogTailReader;
    /** True when hand-offs may happen (Redis durable); false answers 503. */
    canHandOff(): Promise<boolean>;
    /** Follow poll interval, in ms (default 250). */
    followPollMs?: number;
    /** Keep-alive comment interval for followers, in ms (default 15 000). */
    keepAliveMs?: number;
  };
  version?: string;
}

/** The status code and body for an intake outcome. */
function outcomeResponse(o: IntakeOutcome): {
  status: number;
  body: JobSubmitResponse | ErrorResponse;
} {
  switch (o.kind) {
    case 'queued':
      return { status: 202, body: { jobId: o.jobId, outcome: 'queued', state: 'QUEUED' } };
    case 'duplicate':
      return { status: 200, body: { jobId: o.jobId, outcome: 'duplicate', state: o.state } };
    case 'rejected':
      return {
        status: 422,
        body: { jobId: o.jobId, outcome: 'rejected', state: 'REJECTED', reason: o.code, detail: o.detail },
      };
    case 'canceled':
      return { status: 200, body: { jobId: o.jobId, outcome: 'canceled', state: 'CANCELED' } };
    case 'cancel-requested':
      return { status: 202, body: { jobId: o.jobId, outcome: 'cancel-requested', state: o.state } };
    case 'already-terminal':
      return { status: 409, body: { jobId: o.jobId, outcome: 'already-terminal', state: o.state } };
    case 'unusable':
      // A body whose signature failed claims nothing (no record, no notification): 403.
      return {
        status: o.code === 'SIGNATURE_MISSING' || o.code === 'SIGNATURE_INVALID' ? 403 : 400,
        body: errorBody(o.code, o.detail),
      };
  }
}

const issuesText = (error: { issues: { path: PropertyKey[]; message: string }[] }) =>
  error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');

const unavailable = (reply: FastifyReply, message = 'redis is unreachable; retry later') =>
  reply.status(503).send(errorBody('UNAVAILABLE', message));

export function buildApp(deps: AppDeps): HttpApp {
  const http = createHttpApp({
    service: SERVICE,
    logger: deps.logger,
    checks: deps.checks,
    host: deps.host,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.apiToken ? { apiToken: deps.apiToken } : {}),
  });
  const openapi = renderOpenApi(deps.version ?? '0.1.0');
  http.app.get('/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));
  const jobs = deps.jobs;
  if (jobs) {
    void http.app.register(
      async (v1) => jobRoutes(v1, http, jobs, deps.logger.child({ component: 'job-api' })),
      {
        prefix: '/v1',
      },
    );
  }
  return http;
}

function jobRoutes(
  v1: FastifyInstance,
  http: HttpApp,
  jobs: NonNullable<AppDeps['jobs']>,
  log: Logger,
): void {
  const { intake, store, tail } = jobs;
  // Keep the raw text: the signature is over the exact bytes, and the intake parses it like an SQS body.
  v1.removeContentTypeParser('application/json');
  v1.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  v1.addHook('onRequest', async (req, reply) => {
    await http.requireToken(req, reply);
    if (reply.sent) return reply;
  });
  const followers = new Set<AbortController>();
  v1.addHook('preClose', async () => {
    for (const f of followers) f.abort();
  });

  /** Runs a handler; a Redis failure answers 503 instead of 500. */
  const guarded =
    (fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(req, reply);
      } catch (err) {
        log.warn({ err: errorFields(err), url: req.url.split('?')[0] }, 'job API request failed');
        return unavailable(reply);
      }
    };

  // Job routes are matched with a wildcard and split here: fastify refuses path parameters over 100
  // characters (maxParamLength) with a bare 414, and job ids may have 128.
  const jobIdParam = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    const rest = (req.params as { '*'?: string })['*'] ?? '';
    const id = rest.replace(/\/(cancel|logs)$/, '');
    if (JobId.safeParse(id).success) return id;
    void reply
      .status(400)
      .send(errorBody('BAD_JOB_ID', 'job id: 1-128 of [A-Za-z0-9._-], starting alphanumeric'));
    return undefined;
  };
  const actionOf = (req: FastifyRequest): 'cancel' | 'logs' | undefined => {
    const rest = (req.params as { '*'?: string })['*'] ?? '';
    return /\/cancel$/.test(rest) ? 'cancel' : /\/logs$/.test(rest) ? 'logs' : undefined;
  };
  const notFound = (req: FastifyRequest, reply: FastifyReply) =>
    reply.status(404).send(errorBody('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`));

  v1.post(
    '/jobs',
    guarded(async (req, reply) => {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
        return reply
          .status(415)
          .send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'send the message as application/json'));
      const raw = typeof req.body === 'string' ? req.body : '';
      if (raw.trim() === '')
        return reply.status(400).send(errorBody('EMPTY_BODY', 'a job or cancel message is required'));
      if (!(await jobs.canHandOff()))
        return unavailable(reply, 'redis is unreachable or not durable; retry later');
      const signature = req.headers[SIGNATURE_HEADER];
      const outcome = await intake.handle({
        body: raw,
        signature: Array.isArray(signature) ? signature[0] : signature,
        source: 'http',
      });
      const r = outcomeResponse(outcome);
      return reply.status(r.status).send(r.body);
    }),
  );

  v1.get(
    '/jobs',
    guarded(async (req, reply) => {
      const q = JobListQuery.safeParse(req.query);
      if (!q.success) return reply.status(400).send(errorBody('BAD_REQUEST', issuesText(q.error)));
      const after = q.data.cursor !== undefined ? decodeCursor(q.data.cursor) : undefined;
      if (after === null)
        return reply.status(400).send(errorBody('BAD_CURSOR', 'cursor is not one this API returned'));
      const page = await store.list({
        limit: q.data.limit,
        ...(q.data.state ? { state: q.data.state } : {}),
        ...(after ? { after } : {}),
      });
      return {
        jobs: page.jobs,
        ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}),
      } satisfies JobList;
    }),
  );

  v1.get(
    '/jobs/*',
    guarded(async (req, reply) => {
      const action = actionOf(req);
      if (action === 'logs') return getLogs(req, reply);
      const id = jobIdParam(req, reply);
      if (!id) return reply;
      const record = await store.get(id);
      if (!record) return reply.status(404).send(errorBody('JOB_NOT_FOUND', `no job ${id} on this node`));
      return record;
    }),
  );

  v1.post(
    '/jobs/*',
    guarded(async (req, reply) => {
      if (actionOf(req) !== 'cancel') return notFound(req, reply);
      const id = jobIdParam(req, reply);
      if (!id) return reply;
      let reason: string | undefined;
      const raw = typeof req.body === 'string' ? req.body.trim() : '';
      if (raw !== '') {
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch (e) {
          return reply.status(400).send(errorBody('INVALID_JSON', (e as Error).message));
        }
        const body = JobCancelBody.safeParse(json);
        if (!body.success) return reply.status(400).send(errorBody('BAD_REQUEST', issuesText(body.error)));
        reason = body.data.reason;
      }
      if (!(await jobs.canHandOff()))
        return unavailable(reply, 'redis is unreachable or not durable; retry later');
      const r = outcomeResponse(await intake.cancel(id, reason, 'http'));
      return reply.status(r.status).send(r.body);
    }),
  );

  async function getLogs(req: FastifyRequest, reply: FastifyReply) {
    const id = jobIdParam(req, reply);
    if (!id) return reply;
    const q = JobLogsQuery.safeParse(req.query);
    if (!q.success) return reply.status(400).send(errorBody('BAD_REQUEST', issuesText(q.error)));
    const state = await store.state(id);
    if (!state) return reply.status(404).send(errorBody('JOB_NOT_FOUND', `no job ${id} on this node`));
    const lastEventId = req.headers['last-event-id'];
    const after = q.data.after ?? (typeof lastEventId === 'string' ? lastEventId : undefined);
    const follow = q.data.follow === '1' || q.data.follow === 'true';
    if (!follow) {
      const chunks = await tail.read(id, after, LOG_TAIL_MAXLEN * 2);
      return { jobId: id, state, chunks } satisfies LogTailResponse;
    }
    return followLogs(req, reply, id, after);
  }

  async function followLogs(req: FastifyRequest, reply: FastifyReply, id: string, after: string | undefined) {
    const ac = new AbortController();
    followers.add(ac);
    req.raw.on('close', () => ac.abort());
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const pollMs = jobs.followPollMs ?? 250;
    const keepAliveMs = jobs.keepAliveMs ?? 15_000;
    let last = after;
    let lastWrite = Date.now();
    const flush = async (): Promise<number> => {
      const chunks = await tail.read(id, last, 500);
      for (const c of chunks) {
        res.write(sseEvent('chunk', { stream: c.stream, data: c.data } satisfies LogFollowChunk, c.id));
        last = c.id;
      }
      if (chunks.length) lastWrite = Date.now();
      return chunks.length;
    };
    try {
      while (!ac.signal.aborted) {
        // Read the state first: chunks written before the job turned terminal are read after it.
        const state: JobState | null = await store.state(id);
        while ((await flush()) === 500 && !ac.signal.aborted) {}
        if (state === null || isTerminal(state)) {
          while ((await flush()) > 0 && !ac.signal.aborted) {}
          res.write(sseEvent('end', { state } satisfies LogFollowEnd));
          break;
        }
        if (Date.now() - lastWrite >= keepAliveMs) {
          res.write(sseComment('keep-alive'));
          lastWrite = Date.now();
        }
        await sleep(pollMs, ac.signal);
      }
    } catch (err) {
      log.warn({ err: errorFields(err), jobId: id }, 'log follow failed');
      res.write(sseEvent('error', errorBody('UNAVAILABLE', 'redis is unreachable').error));
    } finally {
      followers.delete(ac);
      res.end();
    }
  }
}
