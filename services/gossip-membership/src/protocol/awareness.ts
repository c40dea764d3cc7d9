// Lifeguard local health awareness (memberlist `awareness.go`, docs/wire.md §12).
//
// A node that keeps missing acks may be the slow one (CPU starved, lossy link). Lifeguard lets it
// notice that and probe less aggressively instead of accusing healthy peers. The score runs from
// 0 (healthy) to max − 1 and starts at 0:
//   +1  when we have to refute an accusation about ourselves,
//   +m  on a failed probe, m = expected nacks − nacks received (or +1 if no nacks were expected),
//   −1  on a successful probe (direct, indirect or TCP fallback).
// The score scales only the probe interval: probeInterval × (score + 1) (math.scaleProbeInterval).

import { scaleProbeInterval } from './math.js';

export class Awareness {
  #score = 0;

  /** @param max memberlist AwarenessMaxMultiplier (8 by default): the score stays in [0, max − 1]. */
  constructor(private readonly max: number) {}

  /** Adds `delta` and clamps to [0, max − 1]. Returns the new score. */
  applyDelta(delta: number): number {
    const next = this.#score + delta;
    this.#score = Math.min(Math.max(next, 0), Math.max(this.max - 1, 0));
    return this.#score;
  }

  /** The current health score (memberlist GetHealthScore): 0 is healthy. */
  get score(): number {
    return this.#score;
  }

  /** `timeoutMs × (score + 1)`. */
  scaleTimeout(timeoutMs: number): number {
    return scaleProbeInterval(timeoutMs, this.#score);
  }
}
