// REFERENCE COPY of the straightforward O(n log n)-per-call BroadcastQueue (sort everything on
// every getBroadcasts), kept to check the indexed src/protocol/broadcast-queue.ts against it
// (test/broadcast-queue.test.ts, randomized differential test). Not used by the engine.
//
// Transmit-limited broadcast queue (memberlist `queue.go` TransmitLimitedQueue; docs/wire.md §14).
//
// Every membership change (alive/suspect/dead) is queued here and piggybacked on pings, acks,
// indirect pings, nacks and gossip packets until it has been sent retransmitLimit(mult, n) times.
//
// - Order: fewer transmissions first; within a tier the LARGER message first, then the newer
//   (higher id). getBroadcasts walks the tiers from the fewest transmissions up and, in each tier,
//   takes the first (largest) message that still fits the remaining budget, then retries the same
//   tier; a tier with nothing that fits moves on to the next.
// - Every message taken counts one transmission; at the limit it is dropped and its `onFinished`
//   runs (memberlist Broadcast.Finished; leave() waits for it).
// - Named broadcasts: queueing a message with a name replaces any queued message of the same name
//   (memberlist's own broadcasts are named after the node they describe), and the replaced one
//   is finished.
//
// The queue is generic over the message type and measures messages with an injected size
// function, so it does not depend on the codec. The engine passes the encoded length.

import { retransmitLimit } from '../../src/protocol/math.js';

interface BroadcastQueueOptions<T> {
  /** Encoded size of a message in bytes (type byte included). */
  size: (message: T) => number;
  /** Current cluster size estimate n (drives the transmit limit). */
  numNodes: () => number;
  /** memberlist RetransmitMult. */
  retransmitMult: number;
}

interface Entry<T> {
  message: T;
  name: string | undefined;
  size: number;
  id: number;
  transmits: number;
  onFinished: (() => void) | undefined;
}

export class ReferenceBroadcastQueue<T> {
  #entries: Entry<T>[] = [];
  #idGen = 0;

  constructor(private readonly options: BroadcastQueueOptions<T>) {}

  /**
   * Queues `message`. With a `name`, a queued message of the same name is replaced (and finished).
   * `onFinished` runs once the message reached its transmit limit or was replaced/reset.
   */
  queue(message: T, name?: string, onFinished?: () => void): void {
    this.#idGen += 1;
    if (name !== undefined) {
      const old = this.#entries.findIndex((e) => e.name === name);
      if (old >= 0) {
        const [removed] = this.#entries.splice(old, 1);
        removed?.onFinished?.();
      }
    }
    this.#entries.push({
      message,
      name,
      size: this.options.size(message),
      id: this.#idGen,
      transmits: 0,
      onFinished,
    });
  }

  /**
   * Takes broadcasts for one packet: at most `limit` bytes in total, counting `overhead` bytes per
   * message (2 for a compound part). Each message returned counts as one transmission.
   */
  getBroadcasts(overhead: number, limit: number): T[] {
    if (this.#entries.length === 0) return [];
    const transmitLimit = retransmitLimit(this.options.retransmitMult, this.options.numNodes());
    const ordered = [...this.#entries].sort(
      (a, b) => a.transmits - b.transmits || b.size - a.size || b.id - a.id,
    );
    const taken = new Set<Entry<T>>();
    const out: T[] = [];
    let used = 0;
    const minTr = ordered[0]?.transmits ?? 0;
    const maxTr = ordered[ordered.length - 1]?.transmits ?? 0;
    for (let tier = minTr; tier <= maxTr; ) {
      const free = limit - used - overhead;
      if (free <= 0) break;
      const keep = ordered.find((e) => e.transmits === tier && !taken.has(e) && e.size <= free);
      if (keep === undefined) {
        tier += 1;
        continue;
      }
      taken.add(keep);
      used += overhead + keep.size;
      out.push(keep.message);
    }
    // Count the transmissions after the walk (memberlist reinserts after the loop).
    for (const e of taken) {
      e.transmits += 1;
      if (e.transmits >= transmitLimit) {
        this.#remove(e);
        e.onFinished?.();
      }
    }
    return out;
  }

  /** Number of queued messages. */
  get length(): number {
    return this.#entries.length;
  }

  /** Queued messages in send order (fewest transmissions, largest, newest first); for inspection. */
  peek(): T[] {
    return [...this.#entries]
      .sort((a, b) => a.transmits - b.transmits || b.size - a.size || b.id - a.id)
      .map((e) => e.message);
  }

  /** Drops everything, finishing each message. */
  reset(): void {
    const all = this.#entries;
    this.#entries = [];
    this.#idGen = 0;
    for (const e of all) e.onFinished?.();
  }

  /** Keeps at most `maxRetain` messages, dropping the most-transmitted/smallest/oldest first. */
  prune(maxRetain: number): void {
    while (this.#entries.length > maxRetain) {
      const worst = [...this.#entries].sort(
        (a, b) => b.transmits - a.transmits || a.size - b.size || a.id - b.id,
      )[0];
      if (worst === undefined) break;
      this.#remove(worst);
      worst.onFinished?.();
    }
  }

  #remove(entry: Entry<T>): void {
    const i = this.#entries.indexOf(entry);
    if (i >= 0) this.#entries.splice(i, 1);
    if (this.#entries.length === 0) this.#idGen = 0;
  }
}
