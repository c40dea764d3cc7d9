// The indexed BroadcastQueue (src/protocol/broadcast-queue.ts) against the plain sort-everything
// version it replaced (helpers/broadcast-queue-reference.ts): seeded random sequences of queue /
// getBroadcasts / prune / reset must give the same messages, order, finish callbacks and lengths.
import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../src/protocol/broadcast-queue.js';
import { createRng } from '../src/protocol/prng.js';
import { ReferenceBroadcastQueue } from './helpers/broadcast-queue-reference.js';

describe('BroadcastQueue matches the reference implementation', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: 3000 random operations', (seed) => {
    const rng = createRng(seed);
    let n = 1 + rng.int(200);
    const opts = { size: (m: string) => m.length, numNodes: () => n, retransmitMult: 1 + rng.int(4) };
    const fast = new BroadcastQueue<string>(opts);
    const ref = new ReferenceBroadcastQueue<string>(opts);
    const doneFast: string[] = [];
    const doneRef: string[] = [];
    let serial = 0;
    for (let op = 0; op < 3000; op++) {
      const r = rng.next();
      if (r < 0.55) {
        const msg = `${'x'.repeat(1 + rng.int(rng.next() < 0.5 ? 4 : 60))}#${serial++}`;
        const name = rng.next() < 0.8 ? `node-${rng.int(40)}` : undefined;
        fast.queue(msg, name, () => doneFast.push(msg));
        ref.queue(msg, name, () => doneRef.push(msg));
      } else if (r < 0.93) {
        const overhead = rng.int(4);
        const limit = rng.int(400);
        expect(fast.getBroadcasts(overhead, limit)).toEqual(ref.getBroadcasts(overhead, limit));
      } else if (r < 0.97) {
        const keep = rng.int(30);
        fast.prune(keep);
        ref.prune(keep);
      } else if (r < 0.98) {
        fast.reset();
        ref.reset();
      } else {
        n = 1 + rng.int(2000);
      }
      expect(fast.length).toBe(ref.length);
    }
    expect(fast.peek()).toEqual(ref.peek());
    expect(doneFast).toEqual(doneRef);
  });
});
