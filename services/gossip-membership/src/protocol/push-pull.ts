// Push/pull anti-entropy and the join flow (memberlist `state.go` pushPull / pushPullNode /
// mergeRemoteState, `net.go` sendLocalState / handleConn, `memberlist.go` Join; docs/wire.md §15–§16).
//
// A push/pull is one TCP exchange: the initiator sends its FULL state (every node in its list, any
// state, self included, plus the user state), the responder answers with its own state taken
// BEFORE merging, then both merge the other side's state:
//   1. verifyProtocol (members.ts): a version mismatch fails the whole merge (and a join);
//   2. mergeState: Alive → alive rules, Left → dead{From: Name}, Dead/Suspect → suspect{From: us}.
//      Entries about ourselves are refuted (how a restarted node gets its old state back and
//      comes back with a higher incarnation).
//
// - join(seeds): one request with Join = true per seed; there is no UDP at all during a join.
// - periodic: every pushPullScale(pushPullInterval, n) (recomputed each cycle; the first one after
//   a random stagger of up to one interval plus one interval) with ONE random Alive node other
//   than self, Join = false.
//
// The exchange itself is the driver's: the engine emits a stream request with an id, and the
// driver answers with Engine.pushPullResult(id, reply | {error}). User state (memberlist
// Delegate.LocalState/MergeRemoteState) is passed through opaquely.

import type { Address } from './address.js';
import type { ProtocolConfig } from './config.js';
import { pushPullScale } from './math.js';
import type { MemberTable } from './members.js';
import type { PushPull } from './messages.js';
import type { Rng } from './prng.js';

export interface PushPullContext {
  config: ProtocolConfig;
  rng: Rng;
  members: MemberTable;
  /** Emit a push/pull stream request; returns nothing, the id is chosen here. */
  request: (id: number, to: Address, node: string | undefined, request: PushPull, deadline: number) => void;
  /** Opaque application state sent with every push/pull (memberlist Delegate.LocalState). */
  localUserState: (join: boolean) => Uint8Array;
}

interface Pending {
  join: boolean;
  to: Address;
  node: string | undefined;
}

export class PushPuller {
  #nextAt: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(
    private readonly ctx: PushPullContext,
    now: number,
  ) {
    // memberlist pushPullTrigger: a random stagger, then a full (scaled) interval before the first.
    const interval = ctx.config.pushPullIntervalMs;
    this.#nextAt =
      interval > 0
        ? now + ctx.rng.int(interval) + pushPullScale(interval, ctx.members.numNodes)
        : Number.POSITIVE_INFINITY;
  }

  nextDeadline(): number {
    return this.#nextAt;
  }

  /** Requests still waiting for a result. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Our state as sent in a request or a reply. */
  localState(join: boolean): PushPull {
    return { join, states: this.ctx.members.localState(), userState: this.ctx.localUserState(join) };
  }

  /** Starts a Join = true exchange with every seed. Returns the request ids. */
  join(seeds: readonly Address[], now: number): number[] {
    return seeds.map((to) => this.#send(to, undefined, true, now));
  }

  /** A Join = false exchange with one given node (the reconnect loop's). Returns the request id. */
  exchangeWith(to: Address, node: string, now: number): number {
    return this.#send(to, node, false, now);
  }

  tick(now: number): void {
    const interval = this.ctx.config.pushPullIntervalMs;
    if (interval <= 0 || now < this.#nextAt) return;
    this.#nextAt = now + pushPullScale(interval, this.ctx.members.numNodes);
    const { members } = this.ctx;
    const [peer] = members.kRandomNodes(1, (n) => n.name === members.localName || n.state !== 'alive');
    if (peer === undefined) return;
    this.#send({ addr: peer.addr, port: peer.port }, peer.name, false, now);
  }

  /**
   * Merges a remote state (verifyProtocol, then mergeState). Returns an error text when the
   * protocol versions are incompatible (nothing is merged then), else null.
   */
  merge(remote: PushPull, now: number): string | null {
    // memberlist readRemoteState: port 0 (or our protocol version < 2) means "our BindPort".
    const { bindPort, protocolVersion } = this.ctx.config;
    const states = remote.states.map((s) =>
      s.port === 0 || protocolVersion < 2 ? { ...s, port: bindPort } : s,
    );
    const err = this.ctx.members.verifyProtocol(states);
    if (err !== null) return err;
    this.ctx.members.mergeState(states, now);
    return null;
  }

  /**
   * The driver finished request `id`: `reply` is the remote state, or `{error}` when the exchange
   * failed (dial error, timeout, errResp). Returns the request's join flag and an error text.
   */
  onResult(
    id: number,
    reply: PushPull | { error: string },
    now: number,
  ): { known: boolean; join: boolean; error: string | null } {
    const pending = this.#pending.get(id);
    if (pending === undefined) return { known: false, join: false, error: 'unknown push/pull id' };
    this.#pending.delete(id);
    if ('error' in reply) return { known: true, join: pending.join, error: reply.error };
    return { known: true, join: pending.join, error: this.merge(reply, now) };
  }

  #send(to: Address, node: string | undefined, join: boolean, now: number): number {
    const id = this.#nextId++;
    this.#pending.set(id, { join, to, node });
    this.ctx.request(id, to, node, this.localState(join), now + this.ctx.config.tcpTimeoutMs);
    return id;
  }
}
