// An HTTP reverse proxy that injects faults, for tests of retry and crash recovery: put it between a
// client and a real server (fauxqs, a webhook) and tell it, per request, to answer with an error
// (503/500/403… with an S3-style XML body), to cut the connection, or to hold the request until the
// test says otherwise (so a test can kill a process while its upload is provably in flight). Requests
// no rule matches are forwarded unchanged, bodies streamed both ways.
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingMessage['headers'];
}

export type FaultAction =
  /** Answer with this status (default body: an S3-style `<Error>` with `code`). */
  | { kind: 'error'; status: number; code?: string; body?: string; headers?: Record<string, string> }
  /** Destroy the client's socket without an answer (a network error for the client). */
  | { kind: 'reset' }
  /** Keep the request open, unanswered and not forwarded, until `releaseHeld()` or the client leaves. */
  | { kind: 'hold' };

export interface FaultRuleSpec {
  /** Which requests the rule applies to (default: every request). */
  match?: (req: ProxiedRequest) => boolean;
  action: FaultAction;
  /** How many matching requests the rule applies to (default: unlimited, until removed). */
  times?: number;
}

export interface FaultRule {
  /** Matching requests the rule has acted on so far. */
  readonly hits: number;
  /** Resolves when the rule has acted on `n` requests (default 1), or rejects after `timeoutMs`. */
  waitForHits(n?: number, timeoutMs?: number): Promise<void>;
  remove(): void;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the client here. */
  url: string;
  port: number;
  /** Every request received, in order (faulted ones included). */
  readonly requests: ProxiedRequest[];
  /** Adds a rule; rules are tried in the order they were added, the first match acts. */
  addRule(spec: FaultRuleSpec): FaultRule;
  /** Convenience: the next `n` matching requests get `status` (default 503, code ServiceUnavailable). */
  failNext(n: number, status?: number, match?: FaultRuleSpec['match']): FaultRule;
  /** Removes every rule (held requests stay held). */
  clearRules(): void;
  /** Forwards every held request upstream, as if never held. */
  releaseHeld(): void;
  /** Requests currently held. */
  readonly heldCount: number;
  close(): Promise<void>;
}

const XML_CODES: Record<number, string> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchBucket',
  429: 'SlowDown',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function errorXml(code: string, status: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault (${status})</Message><RequestId>fault-proxy</RequestId></Error>`;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const rules: {
    spec: FaultRuleSpec;
    hits: number;
    waiters: { n: number; resolve: () => void }[];
  }[] = [];
  const held: { req: IncomingMessage; res: ServerResponse }[] = [];
  const sockets = new Set<Socket>();

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.on('aborted', () => out.destroy());
    req.pipe(out);
  }

  const server: Server = createServer((req, res) => {
    const info: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push(info);
    const rule = rules.find(
      (r) => (r.spec.times === undefined || r.hits < r.spec.times) && (r.spec.match?.(info) ?? true),
    );
    if (!rule) return forward(req, res);
    rule.hits++;
    for (const w of rule.waiters.filter((w) => rule.hits >= w.n)) w.resolve();
    rule.waiters = rule.waiters.filter((w) => rule.hits < w.n);
    const action = rule.spec.action;
    switch (action.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hold': {
        const entry = { req, res };
        held.push(entry);
        // The client gave up (or was killed): nothing left to release.
        res.on('close', () => {
          const i = held.indexOf(entry);
          if (i >= 0) held.splice(i, 1);
        });
        return;
      }
      case 'error': {
        // Drain the request body first, so the client sees the answer rather than a broken pipe.
        req.resume();
        req.on('end', () => {
          const body =
            action.body ?? errorXml(action.code ?? XML_CODES[action.status] ?? 'Error', action.status);
          res.writeHead(action.status, {
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(body),
            ...action.headers,
          });
          res.end(body);
        });
        return;
      }
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    addRule(spec) {
      const r = { spec, hits: 0, waiters: [] as { n: number; resolve: () => void }[] };
      rules.push(r);
      return {
        get hits() {
          return r.hits;
        },
        waitForHits(n = 1, timeoutMs = 10_000) {
          if (r.hits >= n) return Promise.resolve();
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`fault rule: ${r.hits}/${n} hits after ${timeoutMs} ms`)),
              timeoutMs,
            );
            r.waiters.push({
              n,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          });
        },
        remove() {
          const i = rules.indexOf(r);
          if (i >= 0) rules.splice(i, 1);
        },
      };
    },
    failNext(n, status = 503, match) {
      return proxy.addRule({ action: { kind: 'error', status }, times: n, ...(match ? { match } : {}) });
    },
    clearRules() {
      rules.length = 0;
    },
    releaseHeld() {
      for (const h of held.splice(0)) if (!h.req.destroyed) forward(h.req, h.res);
    },
    get heldCount() {
      return held.length;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
