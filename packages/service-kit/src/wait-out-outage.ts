// The loop around one unit of work (a job's downloads, one upload) that waits out outages: a transient
// failure is retried after the delay outage-budget.ts decides, for as long as progress was made within
// the budget; a permanent failure, a spent budget or an abort end it. The caller says what progress is
// (bytes moved, files verified) by calling `progress()`, and what to show while waiting (`onWaiting`).
import { type BackoffPolicy, sleep } from './backoff.js';
import { OUTAGE_BACKOFF, outageRetry } from './outage-budget.js';

/** What one try returns: success, or a failure saying whether it is worth waiting out. */
export type Attempted = { ok: true } | { ok: false; transient?: boolean; detail: string };

/** The budget passed without progress. */
export interface OutageExhausted {
  ok: false;
  transient: true;
  exhausted: true;
  detail: string;
}

export interface Waiting {
  /** When the current wait began (first transient failure since the last progress), ms. */
  since: number;
  /** Failures in a row without progress. */
  failures: number;
  retryInMs: number;
  /** Give-up time if no progress is made, ms. */
  deadlineAt: number;
  /** The last failure. */
  detail: string;
}

export interface WaitOutOutageOptions<R extends Attempted> {
  /** One try; `progress()` marks progress (resets the budget). */
  attempt: (progress: () => void) => Promise<R>;
  budgetMs: number;
  signal: AbortSignal;
  policy?: BackoffPolicy;
  now?: () => number;
  random?: () => number;
  /** Told before each wait, and with `null` once a try after a wait succeeded or progressed. */
  onWaiting?: (w: Waiting | null) => Promise<void> | void;
}

/**
 * Runs `attempt` until it succeeds, fails permanently, the signal aborts (the last failure is
 * returned) or `budgetMs` passes without progress (`exhausted: true`, the last failure's detail).
 */
export async function waitOutOutage<R extends Attempted>(
  o: WaitOutOutageOptions<R>,
): Promise<R | OutageExhausted> {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  let lastProgressAt = now();
  let progressed = false;
  let failures = 0;
  let waitingSince: number | undefined;
  const progress = () => {
    progressed = true;
    lastProgressAt = now();
  };
  for (;;) {
    progressed = false;
    const result = await o.attempt(progress);
    const r: Attempted = result;
    if (progressed || r.ok) {
      failures = 0;
      if (waitingSince !== undefined) {
        waitingSince = undefined;
        await o.onWaiting?.(null);
      }
    }
    if (r.ok || !r.transient || o.signal.aborted) return result;
    failures++;
    const d = outageRetry(
      { failures, lastProgressAt, now: now() },
      o.budgetMs,
      o.policy ?? OUTAGE_BACKOFF,
      random,
    );
    if (!d.retry) {
      const s = Math.round((now() - lastProgressAt) / 1000);
      return { ok: false, transient: true, exhausted: true, detail: `no progress for ${s} s: ${r.detail}` };
    }
    waitingSince ??= now();
    await o.onWaiting?.({
      since: waitingSince,
      failures,
      retryInMs: d.delayMs,
      deadlineAt: d.deadlineAt,
      detail: r.detail,
    });
    await sleep(d.delayMs, o.signal);
    if (o.signal.aborted) return result;
  }
}
