// The departed record of a running node (decisions: departed-record.ts; bytes: departed-state.ts):
// fed with the member table's events, exchanged with peers through the push/pull user state, kept
// in a DepartedStore across restarts, expired on a timer. The wall clock is read here (entries carry
// the time a node was declared, to be compared across nodes and restarts).
import { type DepartedMember, DepartedState } from '@edgefleet/contracts';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ipString } from '../protocol/address.js';
import type { MemberEvent } from '../protocol/members.js';
import {
  type DepartedEntries,
  expire,
  forgetReturned,
  mergeRemote,
  nextExpiry,
  recordDeparture,
  visible,
} from './departed-record.js';
import { decodeDepartedState, encodeDepartedState, type UserStateDropReason } from './departed-state.js';
import type { DepartedStore } from './departed-store.js';

export interface DepartedMembersOptions {
  selfName: string;
  /** How long an entry is kept after it was declared, ms; 0 = not at all (memberlist's behaviour). */
  retentionMs: number;
  store?: DepartedStore | undefined;
  logger: Logger;
  registry?: Registry;
  /** Whether the member table holds `name` alive or suspect. */
  active: (name: string) => boolean;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
  /** After a failed save, the next try comes this much later, ms. */
  saveRetryMs?: number;
}

/** setTimeout's largest delay (2^31 − 1 ms, ~24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

export class DepartedMembers {
  readonly #o: DepartedMembersOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #entries: DepartedEntries = new Map();
  #encoded: Uint8Array | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #loaded = false;
  #loadTimer: NodeJS.Timeout | undefined;
  readonly #dropped: Counter<'reason'> | undefined;
  readonly #merged: Counter<string> | undefined;

  constructor(o: DepartedMembersOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'departed' });
    this.#now = o.now ?? Date.now;
    const registers = o.registry ? [o.registry] : [];
    if (o.registry) {
      this.#dropped = new Counter({
        name: 'gossip_user_state_dropped_total',
        help: "Peers' push/pull user states refused without merging, by reason (oversized, malformed)",
        labelNames: ['reason'],
        registers,
      });
      this.#merged = new Counter({
        name: 'gossip_departed_merged_total',
        help: 'Departed-member entries taken from peers',
        registers,
      });
      const self = this;
      new Gauge({
        name: 'gossip_departed_members',
        help: 'Members in the departed record (dead or left, kept for the retention)',
        registers,
        collect() {
          this.set(self.list().length);
        },
      });
    }
  }

  get enabled(): boolean {
    return this.#o.retentionMs > 0;
  }

  /**
   * Reads the saved record and merges it into what was learnt meanwhile (call it without waiting:
   * the node runs while Redis is slow or down). Until it succeeded nothing is saved, so a record
   * that could not be read yet is never overwritten; a failed read is retried.
   */
  async load(): Promise<void> {
    const store = this.#o.store;
    if (!this.enabled || store === undefined || this.#closed) {
      this.#loaded = true;
      return;
    }
    let text: string | undefined;
    try {
      text = await store.load();
    } catch (err) {
      this.#log.warn(
        { where: store.where, err: { message: (err as Error).message } },
        'cannot read the departed record; retrying',
      );
      if (!this.#closed) {
        this.#loadTimer = setTimeout(() => void this.load(), this.#o.saveRetryMs ?? 5_000);
        this.#loadTimer.unref();
      }
      return;
    }
    this.#loaded = true;
    if (text !== undefined) {
      const decoded = decodeDepartedState(Buffer.from(text, 'utf8'), Number.POSITIVE_INFINITY);
      if (decoded.ok) this.#set(mergeRemote(this.#entries, decoded.members, this.#ctx()).entries, false);
      else
        this.#log.warn(
          { where: store.where, detail: decoded.detail },
          'saved departed record unreadable; replaced',
        );
    }
    this.#log.info({ where: store.where, departed: this.#entries.size }, 'departed record loaded');
    if (this.#dirty && this.#saving === undefined) this.#save();
  }

  /** The member table's events (driver delegate). */
  notify(events: readonly MemberEvent[]): void {
    if (!this.enabled) return;
    let next = this.#entries;
    const now = this.#now();
    for (const e of events) {
      if (e.kind === 'dead' || e.kind === 'left') {
        if (e.node.name === this.#o.selfName) continue;
        const n = e.node;
        next = recordDeparture(
          next,
          {
            name: n.name,
            ip: ipString(n.addr),
            port: n.port,
            incarnation: n.incarnation,
            meta: n.meta && n.meta.length > 0 ? Buffer.from(n.meta).toString('base64') : null,
            state: e.kind,
            at: now,
            by: e.by,
          },
          this.#o.retentionMs,
          now,
        );
      } else if (e.kind === 'join' || e.kind === 'alive') next = forgetReturned(next, e.node.name);
    }
    this.#set(next, true);
  }

  /** Our push/pull user state (memberlist Delegate.LocalState). */
  localState(): Uint8Array {
    if (!this.enabled) return new Uint8Array(0);
    this.#encoded ??= encodeDepartedState(this.list());
    return this.#encoded;
  }

  /** A peer's push/pull user state (memberlist Delegate.MergeRemoteState), after its member states were merged. */
  mergeRemoteState(bytes: Uint8Array): void {
    if (!this.enabled || bytes.length === 0) return;
    const decoded = decodeDepartedState(bytes);
    if (!decoded.ok) {
      this.#drop(decoded.reason, decoded.detail);
      return;
    }
    const r = mergeRemote(this.#entries, decoded.members, this.#ctx());
    if (r.added > 0) {
      this.#merged?.inc(r.added);
      this.#set(r.entries, true);
    }
  }

  /** Departed members shown now: not expired, not alive again; newest first. */
  list(): DepartedMember[] {
    return visible(this.#entries, this.#o.active, this.#o.retentionMs, this.#now());
  }

  /** Stops the timers and waits for the last save. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#loadTimer);
    if (this.#dirty && this.#saving === undefined) this.#save();
    while (this.#saving !== undefined) await this.#saving;
  }

  #ctx() {
    return {
      selfName: this.#o.selfName,
      active: this.#o.active,
      retentionMs: this.#o.retentionMs,
      now: this.#now(),
    };
  }

  #drop(reason: UserStateDropReason, detail: string): void {
    this.#dropped?.inc({ reason });
    this.#log.debug({ reason, detail }, "peer's user state dropped");
  }

  #set(next: DepartedEntries, persist: boolean): void {
    const expired = expire(next, this.#o.retentionMs, this.#now());
    const changed = expired !== this.#entries;
    this.#entries = expired;
    if (!changed) return;
    this.#encoded = undefined;
    this.#armExpiry();
    if (persist) {
      this.#dirty = true;
      if (this.#saving === undefined) this.#save();
    }
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    if (this.#closed) return;
    const at = nextExpiry(this.#entries, this.#o.retentionMs);
    if (!Number.isFinite(at)) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(at - this.#now()) + 1));
    this.#expiryTimer = setTimeout(() => this.#set(this.#entries, true), delay);
    this.#expiryTimer.unref();
  }

  /** One save at a time; changes made meanwhile are saved by the next one. */
  #save(): void {
    const store = this.#o.store;
    if (store === undefined) {
      this.#dirty = false;
      return;
    }
    if (!this.#loaded) return; // saved once the load has succeeded (load())
    this.#dirty = false;
    const text = JSON.stringify(DepartedState.parse({ departed: 1, members: [...this.#entries.values()] }));
    this.#saving = store
      .save(text)
      .catch((err: Error) => {
        this.#dirty = true;
        this.#log.warn(
          { where: store.where, err: { message: err.message } },
          'cannot save the departed record',
        );
        if (!this.#closed) {
          clearTimeout(this.#retryTimer);
          this.#retryTimer = setTimeout(() => {
            if (this.#dirty && this.#saving === undefined) this.#save();
          }, this.#o.saveRetryMs ?? 5_000);
          this.#retryTimer.unref();
        }
      })
      .finally(() => {
        this.#saving = undefined;
        if (this.#dirty && !this.#closed) this.#save();
      });
  }
}
