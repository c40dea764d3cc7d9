// A small seeded pseudo-random generator (mulberry32) for the pure protocol core.
//
// The engine never calls Math.random: every random choice (probe-list shuffle, random insert
// position of a new node, k random nodes for indirect probes and gossip, the initial stagger of
// the probe/gossip/push-pull loops) draws from an injected `Rng`. A simulation with the same seed
// replays exactly. mulberry32 has a 2^32 period and passes the usual quick statistical checks,
// which is plenty for picking peers; it is NOT a cryptographic generator (nonces for encryption
// come from node:crypto in the transport layer, never from here).

/** The random source the protocol core consumes. */
export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n) (0 when n <= 0), like memberlist's randomOffset (`rand.Uint32() % n`). */
  int(n: number): number;
}

/** mulberry32 seeded with a 32-bit integer. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const nextU32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextU32,
    next: () => nextU32() / 0x1_0000_0000,
    int: (n: number) => (n <= 0 ? 0 : nextU32() % n),
  };
}

/** Fisher–Yates shuffle in place (memberlist's shuffleNodes uses rand.Shuffle the same way). */
export function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}
