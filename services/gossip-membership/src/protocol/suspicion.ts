// Confirmation-accelerated suspicion timer (memberlist `suspicion.go`, Lifeguard; docs/wire.md §13).
//
// When a node is first suspected the timer is set to `max` (or to `min` when no confirmations can
// be expected, k < 1). Every NEW independent accuser (a suspect message whose From has not been
// seen; the first accuser counts as seen) up to k shortens it:
//   timeout(c) = max − (ln(c + 1) / ln(k + 1)) × (max − min), floored to ms and to `min`,
// measured from the START of the suspicion. With k confirmations the node is declared dead after
// `min`; an isolated accuser waits `max`, giving a live-but-slow node time to refute.
//
// Pure: no timers. The owner asks `expired(now)` / reads `deadline` and fires the timeout itself.

import { remainingSuspicionTime } from './math.js';

export class Suspicion {
  /** Absolute time (ms) at which the suspicion times out. */
  deadline: number;
  /** Independent confirmations counted so far (the first accuser excluded), at most k. */
  confirmations = 0;
  readonly #seen = new Set<string>();

  /**
   * @param from  name of the first accuser
   * @param k     confirmations wanted (math.suspicionConfirmations)
   * @param minMs minimum timeout (math.suspicionTimeout)
   * @param maxMs maximum timeout (suspicionMaxTimeoutMult × min)
   * @param start time the suspicion started, ms
   */
  constructor(
    from: string,
    readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
    readonly start: number,
  ) {
    this.#seen.add(from);
    this.deadline = start + (k < 1 ? minMs : maxMs);
  }

  /**
   * Records an accusation from `from`. Returns true if it was new information (a new accuser and
   * fewer than k so far), in which case the caller re-gossips the suspect message. A confirmation
   * that leaves no time makes the deadline `now` (fires on the next check).
   */
  confirm(from: string, now: number): boolean {
    if (this.confirmations >= this.k) return false;
    if (this.#seen.has(from)) return false;
    this.#seen.add(from);
    this.confirmations += 1;
    const remaining = remainingSuspicionTime(
      this.confirmations,
      this.k,
      now - this.start,
      this.minMs,
      this.maxMs,
    );
    // Go only resets a timer that has not fired yet; a deadline in the past stays in the past.
    if (this.deadline > now) this.deadline = remaining > 0 ? now + remaining : now;
    return true;
  }

  /** Whether the timeout has been reached at `now`. */
  expired(now: number): boolean {
    return now >= this.deadline;
  }
}
