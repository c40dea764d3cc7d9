// POSTs a notification to a webhook, signed (contracts' signWebhookBody: `X-Edgefleet-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) and with `Idempotency-Key: <jobId>:<state>`.
// One call = one attempt; the dispatcher retries. Redirects are not followed: the allowlist was checked
// for this URL, not for wherever a redirect points (no SSRF through a 30x).
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signWebhookBody } from '@edgefleet/contracts';
import { webhookVerdict } from '../core/retry.js';
import type { AttemptResult } from './sqs-notifier.js';

export interface WebhookNotifierOptions {
  /** Signing secret(s); with several (a rotation) the header carries one v1 per secret. */
  secret: string | readonly string[];
  timeoutMs: number;
  /** Clock in ms (the signature's timestamp). */
  now?: () => number;
  userAgent?: string;
}

export class WebhookNotifier {
  constructor(private readonly o: WebhookNotifierOptions) {}

  async attempt(
    url: string,
    body: string,
    idempotencyKey: string,
    signal: AbortSignal,
  ): Promise<AttemptResult> {
    const nowSec = Math.floor((this.o.now ?? Date.now)() / 1000);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.o.userAgent ?? 'edgefleet-result-uploader',
          [SIGNATURE_HEADER]: signWebhookBody(this.o.secret, body, nowSec),
          [IDEMPOTENCY_HEADER]: idempotencyKey,
        },
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const what = cause?.code ?? (err as Error).name ?? 'network error';
      return { verdict: 'retryable', detail: `webhook unreachable (${what})` };
    }
    await res.body?.cancel().catch(() => {});
    const verdict = webhookVerdict(res.status);
    return {
      verdict,
      detail: verdict === 'delivered' ? `HTTP ${res.status}` : `webhook answered HTTP ${res.status}`,
    };
  }
}
