// Turns membership changes into messages for the dashboard's live stream (GET /v1/members/events).
// A change is found by comparing the member list with the last one sent, so the stream never misses a
// change and never repeats one, whatever the trigger:
//  - a MemberEvents source (the driver's join/update/suspect/dead/left events) triggers a comparison
//    on the next turn of the event loop (a burst of events costs one comparison);
//  - a sweep every `sweepMs` catches what no event announces (a dead node reaped from the table, the
//    local health score). Without an event source the sweep is the only trigger, so it runs faster.
// Comparisons run only while at least one client is connected; they touch no socket (an in-memory
// list of at most a few hundred members).

import type { MemberJson, MembersBody } from '@edgefleet/contracts';
import { membersBody } from '../member-json.js';
import type { MembershipView } from '../membership-view.js';

/** Something that calls its listeners when the member table changes (payload ignored). */
export interface MemberEvents {
  on(listener: () => void): () => void;
}

export type FeedMessage =
  | { event: 'snapshot'; data: MembersBody }
  | { event: 'member'; data: MemberJson }
  | { event: 'removed'; data: { name: string } }
  | { event: 'health'; data: { health: number } };

export interface MemberFeedOptions {
  view: () => MembershipView | undefined;
  events?: MemberEvents | undefined;
  /** Safety sweep period in ms (default 5 000 with an event source, 1 000 without). */
  sweepMs?: number;
}

/** What identifies a visible change of a member (lastChange alone is re-derived from two clocks each read and jitters by a millisecond). */
const changeKey = (m: MemberJson) =>
  JSON.stringify([m.state, m.incarnation, m.ip, m.port, m.meta, m.metaRaw ?? null, m.self, m.gone ?? false]);

export class MemberFeed {
  readonly #o: MemberFeedOptions;
  readonly #listeners = new Set<(m: FeedMessage) => void>();
  #last = new Map<string, string>();
  #health: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #scheduled = false;

  constructor(o: MemberFeedOptions) {
    this.#o = o;
  }

  /** The current member list (undefined while the node is starting). */
  snapshot(): MembersBody | undefined {
    const v = this.#o.view();
    return v ? membersBody(v) : undefined;
  }

  /** Registers a client: it gets only changes; send it snapshot() first. Returns the unsubscribe. */
  subscribe(listener: (m: FeedMessage) => void): () => void {
    if (this.#listeners.size === 0) this.#start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Compares the member list with the last one and sends the differences. */
  compare(): void {
    const body = this.snapshot();
    if (!body) return;
    const seen = new Set<string>();
    const out: FeedMessage[] = [];
    for (const m of body.members) {
      seen.add(m.name);
      const key = changeKey(m);
      if (this.#last.get(m.name) !== key) {
        this.#last.set(m.name, key);
        out.push({ event: 'member', data: m });
      }
    }
    for (const name of [...this.#last.keys()])
      if (!seen.has(name)) {
        this.#last.delete(name);
        out.push({ event: 'removed', data: { name } });
      }
    if (body.health !== this.#health) {
      this.#health = body.health;
      out.push({ event: 'health', data: { health: body.health } });
    }
    for (const m of out) for (const l of this.#listeners) l(m);
  }

  close(): void {
    this.#listeners.clear();
    this.#stop();
  }

  #start(): void {
    // Baseline: clients start from a snapshot, so only later differences are sent.
    this.#last = new Map();
    this.#health = undefined;
    const body = this.snapshot();
    if (body) {
      for (const m of body.members) this.#last.set(m.name, changeKey(m));
      this.#health = body.health;
    }
    this.#unsubscribe = this.#o.events?.on(() => this.#schedule());
    const sweepMs = this.#o.sweepMs ?? (this.#o.events ? 5_000 : 1_000);
    this.#timer = setInterval(() => this.compare(), sweepMs);
    this.#timer.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#listeners.size > 0) this.compare();
    });
  }
}
