// Reverse proxy of /v1/jobs* to the node's own job API (job-receiver, EDGEFLEET_JOB_API_URL), so a
// browser on the dashboard talks to one origin. Method, path, query, body and the end-to-end headers
// (Authorization, Content-Type, Last-Event-ID, the signature header…) pass through; the response is
// streamed back as it arrives (the live logs are server-sent events), and a client that goes away
// aborts the upstream request.
// Failures are answered as the API's own errors: 502 JOB_API_UNREACHABLE when the job API cannot be
// reached, 504 JOB_API_TIMEOUT when it sends no response headers within `headersTimeoutMs`.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { errorBody } from '@edgefleet/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

export interface JobProxyOptions {
  /** Base URL of the job API, e.g. http://127.0.0.1:4100 (a path prefix is kept). */
  target: string;
  /** Longest wait for the job API's response headers, in ms (default 10 000). */
  headersTimeoutMs?: number;
}

export interface JobProxy {
  handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
  /** Aborts every request in flight (server shutdown: a followed log stream would hold it open). */
  closeAll(): void;
}

export function createJobProxy(o: JobProxyOptions): JobProxy {
  const inFlight = new Set<AbortController>();
  const base = new URL(o.target);
  const prefix = base.pathname.replace(/\/+$/, '');
  // Node's http/https objects, not ES module imports of them: an ES import of node:http reads every
  // export, and its lazy WebSocket/MessageEvent getters load Node's bundled undici, whose source alone
  // holds 0.75 MiB of heap in a process that never uses it (gossip idle RSS, docs/benchmarks.md).
  const send = process.getBuiltinModule(base.protocol === 'https:' ? 'node:https' : 'node:http').request;
  const headersTimeoutMs = o.headersTimeoutMs ?? 10_000;

  async function handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = req.body instanceof Buffer ? req.body : undefined;
    const headers = endToEnd(req.headers);
    if (body) headers['content-length'] = String(body.length);
    const ac = new AbortController();
    inFlight.add(ac);
    // The client went away before the response was complete: stop the upstream request.
    reply.raw.on('close', () => {
      inFlight.delete(ac);
      if (!reply.raw.writableFinished) ac.abort();
    });

    return new Promise<FastifyReply>((resolve) => {
      const fail = (status: number, code: string, message: string) => {
        if (reply.sent) return resolve(reply);
        resolve(reply.status(status).send(errorBody(code, message)));
      };
      const upstream = send(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          method: req.method,
          path: prefix + req.url,
          headers,
          signal: ac.signal,
        },
        (res) => {
          clearTimeout(timer);
          reply.status(res.statusCode ?? 502);
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined && !HOP_BY_HOP.has(k)) reply.header(k, v);
          // An event stream must reach the browser as it is written, not when a proxy buffer fills.
          if (/^text\/event-stream/i.test(String(res.headers['content-type'] ?? '')))
            reply.header('x-accel-buffering', 'no');
          resolve(reply.send(res));
        },
      );
      const timer = setTimeout(() => {
        fail(
          504,
          'JOB_API_TIMEOUT',
          `the job API at ${base.origin} sent no response within ${headersTimeoutMs} ms`,
        );
        upstream.destroy();
      }, headersTimeoutMs);
      timer.unref();
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (ac.signal.aborted) return resolve(reply);
        fail(
          502,
          'JOB_API_UNREACHABLE',
          `the job API at ${base.origin} is unreachable (${err.code ?? err.message})`,
        );
      });
      upstream.end(body);
    });
  }

  return {
    handle,
    closeAll: () => {
      for (const ac of inFlight) ac.abort();
      inFlight.clear();
    },
  };
}
