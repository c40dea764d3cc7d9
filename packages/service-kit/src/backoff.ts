// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
// delay = random(0, min(capMs, baseMs · 2^attempt)). Full jitter spreads retries of many clients that
// failed together (a fleet after a network blip) instead of having them retry in lockstep.

export interface BackoffPolicy {
  /** First ceiling, in ms. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 30_000 };

/** Delay before retry number `attempt` (0-based), in ms. `random` returns [0, 1). */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Sleeps `ms`, or less if `signal` aborts. Resolves either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
