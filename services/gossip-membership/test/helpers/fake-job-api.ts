// A stand-in for the node's job API (job-receiver) for the dashboard's tests: the same routes and JSON
// shapes (list of summaries, the record, live logs as server-sent events), with jobs that move
// QUEUED → RUNNING → SUCCEEDED on their own as time passes (state derived from the time since
// submission, so nothing needs a timer). It records what it received, so tests can check the proxy.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeJob {
  jobId: string;
  createdAt: number;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface FakeJobApi {
  url: string;
  port: number;
  received: ReceivedRequest[];
  jobs: FakeJob[];
  close(): Promise<void>;
  /** Listens again on the same port (after close). */
  restart(): Promise<void>;
}

export interface FakeJobApiOptions {
  port?: number;
  /** ms in QUEUED, then in RUNNING, before SUCCEEDED. */
  queuedMs?: number;
  runningMs?: number;
  /** When set, every request needs `Authorization: Bearer <token>` (401 UNAUTHORIZED otherwise), as
   * the job-receiver does in local mode. */
  token?: string;
}

export async function startFakeJobApi(o: FakeJobApiOptions = {}): Promise<FakeJobApi> {
  const queuedMs = o.queuedMs ?? 1_000;
  const runningMs = o.runningMs ?? 1_500;
  const jobs: FakeJob[] = [];
  const received: ReceivedRequest[] = [];
  const stateOf = (j: FakeJob, now = Date.now()) => {
    const age = now - j.createdAt;
    if (age < queuedMs) return { state: 'QUEUED', updatedAt: j.createdAt };
    if (age < queuedMs + runningMs) return { state: 'RUNNING', updatedAt: j.createdAt + queuedMs };
    return { state: 'SUCCEEDED', updatedAt: j.createdAt + queuedMs + runningMs };
  };

  const build = (): FastifyInstance => {
    const app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.addHook('onRequest', async (req) => {
      received.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: '',
      });
    });
    app.addHook('onRequest', async (req, reply) => {
      if (o.token !== undefined && req.headers.authorization !== `Bearer ${o.token}`)
        return reply
          .status(401)
          .send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong API token' } });
    });
    app.addHook('preHandler', async (req) => {
      const last = received[received.length - 1];
      if (last && typeof req.body === 'string') last.body = req.body;
    });
    app.get('/v1/jobs', async () => ({
      jobs: [...jobs].reverse().map((j) => ({
        jobId: j.jobId,
        createdAt: j.createdAt,
        ...stateOf(j),
        source: 'http',
        cancelRequested: false,
      })),
    }));
    app.post('/v1/jobs', async (req, reply) => {
      const { jobId } = JSON.parse(String(req.body)) as { jobId: string };
      jobs.push({ jobId, createdAt: Date.now() });
      return reply.status(202).send({ jobId, outcome: 'queued', state: 'QUEUED' });
    });
    app.get('/v1/jobs/:id', async (req, reply) => {
      const j = jobs.find((x) => x.jobId === (req.params as { id: string }).id);
      if (!j) return reply.status(404).send({ error: { code: 'JOB_NOT_FOUND', message: 'no such job' } });
      const s = stateOf(j);
      return {
        jobId: j.jobId,
        createdAt: j.createdAt,
        ...s,
        history: [],
        ...(s.state === 'SUCCEEDED' ? { exitCode: 0, resultUri: `s3://results/${j.jobId}/` } : {}),
      };
    });
    app.get('/v1/jobs/:id/logs', async (req, reply) => {
      const j = jobs.find((x) => x.jobId === (req.params as { id: string }).id);
      if (!j) return reply.status(404).send({ error: { code: 'JOB_NOT_FOUND', message: 'no such job' } });
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
      reply.raw.write(
        `id: 1-0\nevent: chunk\ndata: ${JSON.stringify({ stream: 'stdout', data: `epoch 1/3 ok\n` })}\n\n`,
      );
      reply.raw.write(
        `id: 2-0\nevent: chunk\ndata: ${JSON.stringify({ stream: 'stdout', data: `done: ${j.jobId}\n` })}\n\n`,
      );
      // A live stream ends with the job; the fake ends it after a short wait to show streaming.
      const t = setTimeout(() => {
        reply.raw.write(`event: end\ndata: ${JSON.stringify({ state: stateOf(j).state })}\n\n`);
        reply.raw.end();
      }, 300);
      reply.raw.on('close', () => clearTimeout(t));
    });
    return app;
  };

  let app = build();
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    jobs,
    close: () => app.close(),
    async restart() {
      app = build();
      await app.listen({ host: '127.0.0.1', port });
    },
  };
}
