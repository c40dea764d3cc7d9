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
//
// Indexing (memberlist uses a btree for the same reason): a named message is found through a
// Map, and entries are kept in one array per transmit count ("tier"), each sorted by (size desc,
// id desc). getBroadcasts makes ONE pass per tier: because the free budget only shrinks, an entry
// skipped as too large stays too large, so the single pass takes exactly what "take the first
// that fits, retry the tier" takes; a tier is left as soon as the budget is below its smallest
// entry. Cost per call: O(tiers + entries looked at + taken × log) instead of sorting the whole
// queue — at 1000 nodes a queue holds ~1000 alives during a join storm, and every ping, ack and
// gossip packet asks it. test/broadcast-queue.test.ts checks it against the plain version.

import { retransmitLimit } from './math.js';

export interface BroadcastQueueOptions<T> {
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

/** Send order inside a tier: larger first, then newer (higher id) first. */
const before = <T>(a: Entry<T>, b: Entry<T>): boolean =>
  a.size > b.size || (a.size === b.size && a.id > b.id);

export class BroadcastQueue<T> {
  /** transmits → entries with that count, sorted by `before`. */
  readonly #tiers = new Map<number, Entry<T>[]>();
  /** Tier keys, ascending. */
  #tierKeys: number[] = [];
  readonly #byName = new Map<string, Entry<T>>();
  #count = 0;
  #idGen = 0;

  constructor(private readonly options: BroadcastQueueOptions<T>) {}

  /**
   * Queues `message`. With a `name`, a queued message of the same name is replaced (and finished).
   * `onFinished` runs once the message reached its transmit limit or was replaced/reset.
   */
  queue(message: T, name?: string, onFinished?: () => void): void {
    this.#idGen += 1;
    if (name !== undefined) {
      const old = this.#byName.get(name);
      if (old !== undefined) {
        this.#remove(old);
        old.onFinished?.();
      }
    }
    const entry: Entry<T> = {
      message,
      name,
      size: this.options.size(message),
      id: this.#idGen,
      transmits: 0,
      onFinished,
    };
    this.#insert(entry);
  }

  /**
   * Takes broadcasts for one packet: at most `limit` bytes in total, counting `overhead` bytes per
   * message (2 for a compound part). Each message returned counts as one transmission.
   */
  getBroadcasts(overhead: number, limit: number): T[] {
    if (this.#count === 0) return [];
    const transmitLimit = retransmitLimit(this.options.retransmitMult, this.options.numNodes());
    const taken: Entry<T>[] = [];
    const out: T[] = [];
    let used = 0;
    walk: for (const key of this.#tierKeys) {
      const tier = this.#tiers.get(key) as Entry<T>[];
      const smallest = (tier[tier.length - 1] as Entry<T>).size;
      for (const e of tier) {
        const free = limit - used - overhead;
        if (free <= 0) break walk;
        if (free < smallest) break;
        if (e.size > free) continue;
        taken.push(e);
        used += overhead + e.size;
        out.push(e.message);
      }
    }
    if (taken.length === 0) return out;
    // Count the transmissions after the walk (memberlist reinserts after the loop).
    const finished: Entry<T>[] = [];
    for (const e of taken) this.#remove(e);
    for (const e of taken) {
      e.transmits += 1;
      if (e.transmits >= transmitLimit) finished.push(e);
      else this.#insert(e);
    }
    if (this.#count === 0) this.#idGen = 0;
    for (const e of finished) e.onFinished?.();
    return out;
  }

  /** Number of queued messages. */
  get length(): number {
    return this.#count;
  }

  /** Queued messages in send order (fewest transmissions, largest, newest first); for inspection. */
  peek(): T[] {
    const out: T[] = [];
    for (const key of this.#tierKeys) for (const e of this.#tiers.get(key) as Entry<T>[]) out.push(e.message);
    return out;
  }

  /** Drops everything, finishing each message. */
  reset(): void {
    const all: Entry<T>[] = [];
    for (const key of this.#tierKeys) all.push(...(this.#tiers.get(key) as Entry<T>[]));
    all.sort((a, b) => a.id - b.id);
    this.#tiers.clear();
    this.#tierKeys = [];
    this.#byName.clear();
    this.#count = 0;
    this.#idGen = 0;
    for (const e of all) e.onFinished?.();
  }

  /** Keeps at most `maxRetain` messages, dropping the most-transmitted/smallest/oldest first. */
  prune(maxRetain: number): void {
    while (this.#count > maxRetain) {
      const key = this.#tierKeys[this.#tierKeys.length - 1] as number;
      const tier = this.#tiers.get(key) as Entry<T>[];
      const worst = tier[tier.length - 1] as Entry<T>;
      this.#remove(worst);
      if (this.#count === 0) this.#idGen = 0;
      worst.onFinished?.();
    }
  }

  #insert(e: Entry<T>): void {
    let tier = this.#tiers.get(e.transmits);
    if (tier === undefined) {
      tier = [];
      this.#tiers.set(e.transmits, tier);
      const keys = this.#tierKeys;
      let k = keys.length;
      while (k > 0 && (keys[k - 1] as number) > e.transmits) k--;
      keys.splice(k, 0, e.transmits);
    }
    // binary search for the first element e goes before
    let lo = 0;
    let hi = tier.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(tier[mid] as Entry<T>, e)) lo = mid + 1;
      else hi = mid;
    }
    tier.splice(lo, 0, e);
    if (e.name !== undefined) this.#byName.set(e.name, e);
    this.#count += 1;
  }

  #remove(e: Entry<T>): void {
    const tier = this.#tiers.get(e.transmits);
    if (tier === undefined) return;
    let lo = 0;
    let hi = tier.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(tier[mid] as Entry<T>, e)) lo = mid + 1;
      else hi = mid;
    }
    if (tier[lo] !== e) return;
    tier.splice(lo, 1);
    if (tier.length === 0) {
      this.#tiers.delete(e.transmits);
      this.#tierKeys.splice(this.#tierKeys.indexOf(e.transmits), 1);
    }
    if (e.name !== undefined && this.#byName.get(e.name) === e) this.#byName.delete(e.name);
    this.#count -= 1;
  }
}
