// The fleet dashboard's server side, as one fastify plugin:
//   GET  /dashboard/*          the built page (dist/dashboard), see static-files.ts; GET / redirects here
//   GET  /v1/members/events    server-sent events: a `snapshot` (the GET /v1/members body) on connect,
//                              then `member` (one /v1 member object), `removed` ({name}) and `health`
//                              ({health}) as the member table changes; a comment every 15 s keeps
//                              idle connections open through proxies
//   *    /v1/jobs, /v1/jobs/*  proxied to the local job API, see job-proxy.ts
// Mutating proxied requests go through `requireToken` (the membership API's own guard), so a node
// listening off loopback never exposes an unauthenticated submit or cancel.
import { fileURLToPath } from 'node:url';
import { errorBody } from '@edgefleet/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MembershipView } from '../membership-view.js';
import { createJobProxy } from './job-proxy.js';
import { type FeedMessage, type MemberEvents, MemberFeed } from './member-feed.js';
import { createStaticHandler } from './static-files.js';

export type { MemberEvents } from './member-feed.js';

export interface DashboardOptions {
  /** The membership node; undefined until it has started (the event stream then answers 503). */
  view: () => MembershipView | undefined;
  /** Member-table change notifications; without them, changes are found by a 1 s in-memory sweep. */
  events?: MemberEvents | undefined;
  /** Base URL of the local job API (EDGEFLEET_JOB_API_URL), default http://127.0.0.1:4100. */
  jobApiUrl?: string;
  /** Folder of the built page; default dist/dashboard next to this module's build. */
  staticDir?: string;
  /** Guard for mutating proxied requests (service-kit's HttpApp.requireToken). */
  requireToken?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Keep-alive comment period of the event stream, in ms (default 15 000). */
  keepAliveMs?: number;
  /** Safety sweep period of the member feed, in ms (default 5 000 with `events`, 1 000 without). */
  sweepMs?: number;
}

const DEFAULT_JOB_API_URL = 'http://127.0.0.1:4100';
/** dist/dashboard-server/index.js → dist/dashboard/ (src/ during tests: then pass staticDir). */
const defaultStaticDir = () => fileURLToPath(new URL('../dashboard/', import.meta.url));

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const sse = (m: FeedMessage) => `event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`;

export function registerDashboard(app: FastifyInstance, o: DashboardOptions): void {
  const feed = new MemberFeed({
    view: o.view,
    events: o.events,
    ...(o.sweepMs !== undefined ? { sweepMs: o.sweepMs } : {}),
  });
  const streams = new Set<() => void>();
  const keepAliveMs = o.keepAliveMs ?? 15_000;

  app.register(async (scope) => {
    // Request bodies reach the proxy as bytes, whatever their type (only in this plugin's scope).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    // End live streams first, or closing the server would wait for every open dashboard.
    const proxy = createJobProxy({ target: o.jobApiUrl ?? DEFAULT_JOB_API_URL });
    scope.addHook('preClose', async () => {
      for (const end of [...streams]) end();
      feed.close();
      proxy.closeAll();
    });

    const serve = createStaticHandler(o.staticDir ?? defaultStaticDir());
    scope.get('/', async (_req, reply) => reply.redirect('/dashboard/', 302));
    scope.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/', 301));
    scope.get('/dashboard/*', serve);

    scope.get('/v1/members/events', async (req, reply) => {
      const first = feed.snapshot();
      if (!first) return reply.status(503).send(errorBody('NOT_STARTED', 'membership node is starting'));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // retry: the browser reconnects after 2 s when the stream drops (its default is 3 s).
      res.write(`retry: 2000\n${sse({ event: 'snapshot', data: first })}`);
      const unsubscribe = feed.subscribe((m) => res.write(sse(m)));
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
      keepAlive.unref();
      const end = () => {
        if (!streams.delete(end)) return;
        clearInterval(keepAlive);
        unsubscribe();
        res.end();
      };
      streams.add(end);
      req.raw.socket.on('close', end);
      res.on('close', end);
    });

    const guard = o.requireToken;
    const proxied = async (req: FastifyRequest, reply: FastifyReply) => {
      if (guard && MUTATING.has(req.method)) {
        await guard(req, reply);
        if (reply.sent) return reply;
      }
      return proxy.handle(req, reply);
    };
    scope.all('/v1/jobs', proxied);
    scope.all('/v1/jobs/*', proxied);
  });
}
