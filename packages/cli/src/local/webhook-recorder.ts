// A webhook receiver for the drivers that exercise a whole node from outside (the chaos run, the
// benchmarks): it records every notification POSTed to it with the moment its body had fully arrived,
// checks its signature when given the secret, and answers 503 while `failing` is set.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  IDEMPOTENCY_HEADER,
  type Notification,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
} from '@edgefleet/contracts';

export interface RecordedHook {
  /** `jobId` of the body, `?` when the body is not JSON with a jobId. */
  jobId: string;
  /** `state` of the body, `?` when missing. */
  state: string;
  /** The Idempotency-Key header. */
  key: string;
  /** Milliseconds since the epoch (this process's clock) when the whole body had arrived. */
  receivedAt: number;
  /** The parsed body (undefined when it was not JSON). */
  body: Partial<Notification> | undefined;
  /** Whether the signature header verified with the secret (undefined when no secret was given). */
  signatureOk: boolean | undefined;
}

export interface WebhookRecorder {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** Accepted notifications, in arrival order. */
  hooks: RecordedHook[];
  /** `failing`: answer 503 (and record nothing); `faulted`: how many requests were answered so. */
  state: { failing: boolean; faulted: number };
  /** Called with each accepted notification as it is recorded. */
  onHook(listener: (hook: RecordedHook) => void): void;
  close(): Promise<void>;
}

export async function startWebhookRecorder(
  opts: { port?: number; secret?: string; now?: () => number } = {},
): Promise<WebhookRecorder> {
  const now = opts.now ?? Date.now;
  const hooks: RecordedHook[] = [];
  const listeners: ((hook: RecordedHook) => void)[] = [];
  const state = { failing: false, faulted: 0 };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const receivedAt = now();
      if (state.failing) {
        state.faulted++;
        res.statusCode = 503;
        res.end();
        return;
      }
      let body: Partial<Notification> | undefined;
      try {
        body = JSON.parse(raw) as Partial<Notification>;
      } catch {
        // recorded with jobId '?'
      }
      const signature = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const hook: RecordedHook = {
        jobId: typeof body?.jobId === 'string' ? body.jobId : '?',
        state: typeof body?.state === 'string' ? body.state : '?',
        key: String(req.headers[IDEMPOTENCY_HEADER.toLowerCase()] ?? ''),
        receivedAt,
        body,
        signatureOk:
          opts.secret === undefined
            ? undefined
            : typeof signature === 'string' &&
              verifyWebhookSignature({ header: signature, body: raw, secret: opts.secret }).ok,
      };
      hooks.push(hook);
      res.statusCode = 204;
      res.end();
      for (const l of listeners) l(hook);
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hooks,
    state,
    onHook: (listener) => void listeners.push(listener),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
