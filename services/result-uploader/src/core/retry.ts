// Retry decisions: how long to wait before the next attempt, or that there is no next attempt. Pure:
// the caller passes the clock and the random source. Backoff is exponential with full jitter (see
// service-kit's backoffDelay).
import { type BackoffPolicy, backoffDelay } from '@edgefleet/service-kit';

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/** After failed attempt number `attempt` (1-based) of at most `maxAttempts`. */
export function retryAfterAttempt(
  attempt: number,
  maxAttempts: number,
  retryable: boolean,
  policy: BackoffPolicy,
  random: () => number,
): RetryDecision {
  if (!retryable || attempt >= maxAttempts) return { retry: false };
  return { retry: true, delayMs: backoffDelay(attempt - 1, policy, random) };
}

/**
 * Retry until a deadline (notifications): the next delay, shortened so the attempt still starts
 * before `deadlineAt`; no retry once the deadline has passed.
 */
export function retryBeforeDeadline(
  attempt: number,
  retryable: boolean,
  now: number,
  deadlineAt: number,
  policy: BackoffPolicy,
  random: () => number,
): RetryDecision {
  if (!retryable || now >= deadlineAt) return { retry: false };
  return { retry: true, delayMs: Math.min(backoffDelay(attempt - 1, policy, random), deadlineAt - now) };
}

export type WebhookVerdict = 'delivered' | 'retryable' | 'rejected';

/**
 * A webhook answer: 2xx delivered; 408, 425, 429 and 5xx worth retrying; a redirect is refused (it
 * could point anywhere, past the allowlist) and, like any other 4xx, is not retried before the sweep.
 */
export function webhookVerdict(status: number): WebhookVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  return 'rejected';
}
