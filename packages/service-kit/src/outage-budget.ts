// Waiting out an outage: retry a transient failure with capped exponential backoff and full jitter
// (backoff.ts) for as long as the outage budget allows, counted from the last progress, not from the
// first failure, so a slow link that keeps moving bytes is never cut off while a dead one is given up
// after `budgetMs`. Pure: the caller passes the clock reading and the random source.
import { type BackoffPolicy, backoffDelay } from './backoff.js';

export type OutageDecision =
  /** Try again after `delayMs` (never past the deadline). */
  | { retry: true; delayMs: number; deadlineAt: number }
  /** The budget is spent: give up. */
  | { retry: false; deadlineAt: number };

export interface OutageState {
  /** Failures in a row since the last progress (1 after the first failure). */
  failures: number;
  /** Clock reading of the last progress (or of the start), ms. */
  lastProgressAt: number;
  /** Clock reading now, ms. */
  now: number;
}

/** After a transient failure: wait and retry, or give up once `budgetMs` passed without progress. */
export function outageRetry(
  s: OutageState,
  budgetMs: number,
  policy: BackoffPolicy,
  random: () => number,
): OutageDecision {
  const deadlineAt = s.lastProgressAt + budgetMs;
  if (s.now >= deadlineAt) return { retry: false, deadlineAt };
  const delay = backoffDelay(Math.max(0, s.failures - 1), policy, random);
  return { retry: true, delayMs: Math.min(delay, deadlineAt - s.now), deadlineAt };
}

/** Default backoff while waiting out an outage: first retries within a second, then every ≤ 30 s. */
export const OUTAGE_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };
