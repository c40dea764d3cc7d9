// The member table and memberlist's incarnation/state rules (`state.go` aliveNode, suspectNode,
// deadNode, refute, mergeState, verifyProtocol, resetNodes; docs/wire.md §10–§11). Which view wins
// is decided by precedence.ts (pure); this file carries the decision out.
//
// States: alive → suspect → dead, and left (a voluntary leave: a dead message with Node == From).
// Incarnation is a per-node u32 that only the node itself raises, to refute accusations.
//
//   alive(a)   unknown name → inserted at a random position as Dead/0, then the checks below
//              (so an alive with incarnation 0 leaves an unknown node recorded Dead);
//              different Addr/Port → accepted only if the old state is Left (or Dead for longer
//              than deadNodeReclaimTime when that is > 0), bypassing the incarnation check;
//              otherwise a conflict (ignored, reported).
//              Others: needs a STRICTLY greater incarnation. Us: lower → ignore; equal with the
//              same meta and vsn → ignore; else refute.
//   suspect(s) ignored if unknown or s.inc < known (equal accepted). An existing suspicion counts
//              s.from as a confirmation (re-gossiped if new). Only an Alive node becomes Suspect;
//              about us → refute.
//   dead(d)    ignored if unknown or d.inc < known; clears the suspicion; ignored if already
//              Dead/Left; about us → refute unless we are leaving. Node == From → Left, else Dead.
//   refute     incarnation = max(next local incarnation, accused + 1); health +1; broadcast alive
//              (queued under our IP string as its name, like memberlist).
//   merge      remote Alive → alive; Left → dead{From: Name}; Dead or Suspect → suspect{From: us}.
//   reap       on every wrap of the probe list: Dead AND Left nodes older than gossipToTheDeadTime
//              are removed (Left reaping is memberlist ≥ 0.3.1; 0.2.2 keeps Left nodes forever),
//              then the list is shuffled.
//
// Side effects (queueing broadcasts, emitting events, the refute health penalty) go through the
// `MemberTableHooks` given at construction; time is passed in; randomness comes from the Rng.

import { ipString } from './address.js';
import type { ProtocolConfig } from './config.js';
import { suspicionConfirmations, suspicionTimeout } from './math.js';
import type { Alive, Dead, Message, NodeStateName, PushNodeState, Suspect } from './messages.js';
import { NodeStateCode } from './messages.js';
import { precedence } from './precedence.js';
import { type Rng, shuffle } from './prng.js';
import { Suspicion } from './suspicion.js';

/** One row of the member table. Mutable inside this module; exported read-only as MemberView. */
export interface NodeRecord {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  /** [PMin, PMax, PCur, DMin, DMax, DCur]; zeros until a 6-byte Vsn was seen. */
  vsn: Uint8Array;
  incarnation: number;
  state: NodeStateName;
  /** Time of the last state change, ms (engine clock). */
  stateChange: number;
}

export type MemberView = Readonly<NodeRecord>;

/**
 * Membership events.
 * - join:    a node became Alive from Dead/Left or was first seen alive (memberlist NotifyJoin);
 * - update:  an alive node's meta changed (NotifyUpdate);
 * - alive:   a Suspect node was cleared by a newer alive (it refuted);
 * - suspect: an Alive node became Suspect;
 * - dead / left: NotifyLeave, split by cause;
 * - conflict: an alive message for a known name came from another address and was ignored.
 */
export type MemberEvent =
  | { kind: 'join' | 'update' | 'alive' | 'suspect'; node: MemberView }
  /** `by`: the dead message's From (who declared it; the node itself for a leave). */
  | { kind: 'dead' | 'left'; node: MemberView; by: string }
  | { kind: 'conflict'; node: MemberView; other: { addr: Uint8Array; port: number } };

export interface MemberTableHooks {
  /** Queue a gossip broadcast that replaces any queued one with the same name. */
  broadcast(message: Message, name: string, onFinished?: () => void): void;
  event(event: MemberEvent): void;
  /** We refuted an accusation: Lifeguard health +1. */
  refuted(): void;
}

export interface MemberTableOptions {
  localName: string;
  config: ProtocolConfig;
  rng: Rng;
  hooks: MemberTableHooks;
}

interface ActiveSuspicion {
  timer: Suspicion;
  /** stateChange of the node when the suspicion started; the timeout only kills that episode. */
  changeTime: number;
}

const EMPTY_VSN = new Uint8Array(6);

function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  const x = a ?? new Uint8Array(0);
  const y = b ?? new Uint8Array(0);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function snapshot(n: NodeRecord): MemberView {
  return { ...n };
}

export class MemberTable {
  /** Probe order (shuffled on every wrap); includes self and unreaped dead/left nodes. */
  readonly nodes: NodeRecord[] = [];
  readonly #byName = new Map<string, NodeRecord>();
  readonly #suspicions = new Map<string, ActiveSuspicion>();
  #incarnation = 0;
  /** Set by leave(): alive messages about us are ignored and a dead about us is not refuted. */
  leaving = false;

  readonly localName: string;
  readonly #config: ProtocolConfig;
  readonly #rng: Rng;
  readonly #hooks: MemberTableHooks;

  constructor(options: MemberTableOptions) {
    this.localName = options.localName;
    this.#config = options.config;
    this.#rng = options.rng;
    this.#hooks = options.hooks;
  }

  // ---- queries -------------------------------------------------------------------------------

  get(name: string): NodeRecord | undefined {
    return this.#byName.get(name);
  }

  /** Our own record (present once the engine bootstrapped). */
  local(): NodeRecord | undefined {
    return this.#byName.get(this.localName);
  }

  /** estNumNodes: every node in the list, self and unreaped dead/left included. */
  get numNodes(): number {
    return this.nodes.length;
  }

  /** memberlist Members(): every node that is neither Dead nor Left, self included; by name. */
  members(): MemberView[] {
    return this.all().filter((n) => n.state === 'alive' || n.state === 'suspect');
  }

  /** Every known node in any state, sorted by name. */
  all(): MemberView[] {
    return this.nodes.map(snapshot).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Whether any node other than us is alive or suspect (memberlist anyAlive). */
  anyAlive(): boolean {
    return this.nodes.some(
      (n) => n.name !== this.localName && (n.state === 'alive' || n.state === 'suspect'),
    );
  }

  /** Next local incarnation (memberlist nextIncarnation). */
  nextIncarnation(): number {
    this.#incarnation = (this.#incarnation + 1) >>> 0;
    return this.#incarnation;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  // ---- alive ---------------------------------------------------------------------------------

  /**
   * Applies an alive message. `bootstrap` is set for our own alive at start-up and on a meta
   * update (no refutation of ourselves then). `onFinished` runs when its broadcast finished.
   */
  aliveNode(a: Alive, now: number, bootstrap = false, onFinished?: () => void): void {
    const isLocalName = a.node === this.localName;
    if (this.leaving && isLocalName) return;

    if (a.vsn.length >= 3) {
      // indexed, not destructured: a Uint8Array destructures through its iterator (hot path)
      const pMin = a.vsn[0] ?? 0;
      const pMax = a.vsn[1] ?? 0;
      if (pMin === 0 || pMax === 0 || pMin > pMax) return;
    }

    let state = this.#byName.get(a.node);
    let updatesNode = false;
    if (state === undefined) {
      state = {
        name: a.node,
        addr: a.addr,
        port: a.port,
        meta: a.meta,
        vsn: a.vsn.length >= 6 ? a.vsn.slice(0, 6) : EMPTY_VSN.slice(),
        incarnation: 0,
        state: 'dead',
        stateChange: now,
      };
      this.#byName.set(a.node, state);
      // Insert at a random position so new nodes are probed in a random order.
      const n = this.nodes.length;
      const offset = this.#rng.int(n);
      this.nodes.push(state);
      const displaced = this.nodes[offset] as NodeRecord;
      this.nodes[offset] = state;
      this.nodes[n] = displaced;
    } else if (!bytesEqual(state.addr, a.addr) || state.port !== a.port) {
      // memberlist state.go aliveNode compares the raw Addr bytes (bytes.Equal): the same IPv4
      // address as 4 bytes and as 16-byte IPv4-mapped is a conflict there, so it is here too.
      const reclaim =
        this.#config.deadNodeReclaimTimeMs > 0 &&
        now - state.stateChange > this.#config.deadNodeReclaimTimeMs;
      if (state.state === 'left' || (state.state === 'dead' && reclaim)) {
        updatesNode = true;
      } else {
        this.#hooks.event({ kind: 'conflict', node: snapshot(state), other: { addr: a.addr, port: a.port } });
        return;
      }
    }

    const isLocal = state.name === this.localName;
    const verdict = precedence({
      message: 'alive',
      incarnation: a.incarnation,
      known: state.state,
      knownIncarnation: state.incarnation,
      local: isLocal,
      bootstrap,
      sameMetaAndVsn: isLocal && bytesEqual(a.meta, state.meta) && bytesEqual(a.vsn, state.vsn),
      takeover: updatesNode,
    });
    if (verdict === 'stale') return;

    this.#suspicions.delete(a.node);
    const oldState = state.state;
    const oldMeta = state.meta;

    if (verdict === 'ignore') return;
    if (verdict === 'refute') {
      this.refute(state, a.incarnation);
    } else {
      this.#hooks.broadcast({ type: 'alive', body: a }, a.node, onFinished);
      if (a.vsn.length >= 6) state.vsn = a.vsn.slice(0, 6);
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== 'alive') {
        state.state = 'alive';
        state.stateChange = now;
      }
    }

    if (oldState === 'dead' || oldState === 'left') {
      this.#hooks.event({ kind: 'join', node: snapshot(state) });
    } else {
      if (oldState === 'suspect' && state.state === 'alive')
        this.#hooks.event({ kind: 'alive', node: snapshot(state) });
      if (!bytesEqual(oldMeta, state.meta)) this.#hooks.event({ kind: 'update', node: snapshot(state) });
    }
  }

  // ---- suspect -------------------------------------------------------------------------------

  suspectNode(s: Suspect, now: number): void {
    const state = this.#byName.get(s.node);
    if (state === undefined) return;
    const existing = this.#suspicions.get(s.node);
    const verdict = precedence({
      message: 'suspect',
      incarnation: s.incarnation,
      known: state.state,
      knownIncarnation: state.incarnation,
      local: state.name === this.localName,
      suspected: existing !== undefined,
    });
    if (verdict === 'stale' || verdict === 'ignore') return;
    if (verdict === 'confirm') {
      if (existing?.timer.confirm(s.from, now)) this.#hooks.broadcast({ type: 'suspect', body: s }, s.node);
      return;
    }
    if (verdict === 'refute') {
      this.refute(state, s.incarnation);
      return;
    }
    this.#hooks.broadcast({ type: 'suspect', body: s }, s.node);

    state.incarnation = s.incarnation;
    state.state = 'suspect';
    state.stateChange = now;

    const n = this.numNodes;
    const k = suspicionConfirmations(this.#config.suspicionMult, n);
    const min = suspicionTimeout(this.#config.suspicionMult, n, this.#config.probeIntervalMs);
    const max = this.#config.suspicionMaxTimeoutMult * min;
    this.#suspicions.set(s.node, { timer: new Suspicion(s.from, k, min, max, now), changeTime: now });
    this.#hooks.event({ kind: 'suspect', node: snapshot(state) });
  }

  /** Earliest suspicion deadline, if any. */
  nextSuspicionDeadline(): number | undefined {
    let next: number | undefined;
    for (const { timer } of this.#suspicions.values()) {
      if (next === undefined || timer.deadline < next) next = timer.deadline;
    }
    return next;
  }

  /** The active suspicion of a node (for inspection and tests). */
  suspicion(name: string): Suspicion | undefined {
    return this.#suspicions.get(name)?.timer;
  }

  /** Fires every suspicion whose deadline is ≤ now: the node is declared dead by us. */
  fireSuspicions(now: number): void {
    for (const [name, active] of [...this.#suspicions]) {
      if (!active.timer.expired(now)) continue;
      this.#suspicions.delete(name);
      const state = this.#byName.get(name);
      if (state === undefined || state.state !== 'suspect' || state.stateChange !== active.changeTime)
        continue;
      this.deadNode({ incarnation: state.incarnation, node: name, from: this.localName }, now);
    }
  }

  // ---- dead / left ---------------------------------------------------------------------------

  deadNode(d: Dead, now: number, onFinished?: () => void): void {
    const state = this.#byName.get(d.node);
    if (state === undefined) return;
    const isLocal = state.name === this.localName;
    const verdict = precedence({
      message: 'dead',
      incarnation: d.incarnation,
      known: state.state,
      knownIncarnation: state.incarnation,
      local: isLocal,
      selfDeclared: d.node === d.from,
      leaving: this.leaving,
    });
    if (verdict === 'stale') return;

    this.#suspicions.delete(d.node);
    if (verdict === 'ignore') return;
    if (verdict === 'refute') {
      this.refute(state, d.incarnation);
      return;
    }
    this.#hooks.broadcast({ type: 'dead', body: d }, d.node, isLocal ? onFinished : undefined);

    state.incarnation = d.incarnation;
    state.state = verdict === 'left' ? 'left' : 'dead';
    state.stateChange = now;
    this.#hooks.event({ kind: state.state, node: snapshot(state), by: d.from });
  }

  // ---- refute --------------------------------------------------------------------------------

  /** Raises our incarnation above `accusedIncarnation` and broadcasts a fresh alive. */
  refute(me: NodeRecord, accusedIncarnation: number): void {
    let inc = this.nextIncarnation();
    if (accusedIncarnation >= inc) {
      this.#incarnation = (accusedIncarnation + 1) >>> 0;
      inc = this.#incarnation;
    }
    me.incarnation = inc;
    this.#hooks.refuted();
    const alive: Alive = {
      incarnation: inc,
      node: me.name,
      addr: me.addr,
      port: me.port,
      meta: me.meta,
      vsn: me.vsn,
    };
    // memberlist names the refutation broadcast after our IP string, not our node name.
    this.#hooks.broadcast({ type: 'alive', body: alive }, ipString(me.addr));
  }

  // ---- push/pull merge -----------------------------------------------------------------------

  /** memberlist mergeState: applies every remote entry with the rules above. */
  mergeState(remote: readonly PushNodeState[], now: number): void {
    for (const r of remote) {
      switch (r.state) {
        case NodeStateCode.alive:
          this.aliveNode(
            {
              incarnation: r.incarnation,
              node: r.name,
              addr: r.addr,
              port: r.port,
              meta: r.meta,
              vsn: r.vsn,
            },
            now,
          );
          break;
        case NodeStateCode.left:
          this.deadNode({ incarnation: r.incarnation, node: r.name, from: r.name }, now);
          break;
        case NodeStateCode.dead:
        case NodeStateCode.suspect:
          this.suspectNode({ incarnation: r.incarnation, node: r.name, from: this.localName }, now);
          break;
        default:
          break;
      }
    }
  }

  /**
   * memberlist verifyProtocol: over all ALIVE nodes (remote and local) compute the intersection of
   * [PMin, PMax] and [DMin, DMax]; every remote and local node's PCur/DCur must lie inside. Remote
   * nodes with no Vsn count as PCur = DCur = 0. Returns an error text or null.
   */
  verifyProtocol(remote: readonly PushNodeState[]): string | null {
    let maxPMin = 0;
    let minPMax = 255;
    let maxDMin = 0;
    let minDMax = 255;
    const widen = (v: Uint8Array) => {
      maxPMin = Math.max(maxPMin, v[0] ?? 0);
      minPMax = Math.min(minPMax, v[1] ?? 0);
      maxDMin = Math.max(maxDMin, v[3] ?? 0);
      minDMax = Math.min(minDMax, v[4] ?? 0);
    };
    for (const r of remote) if (r.state === NodeStateCode.alive && r.vsn.length > 0) widen(r.vsn);
    for (const n of this.nodes) if (n.state === 'alive') widen(n.vsn);
    const check = (name: string, pCur: number, dCur: number): string | null => {
      if (pCur < maxPMin || pCur > minPMax) {
        return `Node '${name}' protocol version (${pCur}) is incompatible: [${maxPMin}, ${minPMax}]`;
      }
      if (dCur < maxDMin || dCur > minDMax) {
        return `Node '${name}' delegate protocol version (${dCur}) is incompatible: [${maxDMin}, ${minDMax}]`;
      }
      return null;
    };
    for (const r of remote) {
      const err = check(
        r.name,
        r.vsn.length > 0 ? (r.vsn[2] ?? 0) : 0,
        r.vsn.length > 0 ? (r.vsn[5] ?? 0) : 0,
      );
      if (err !== null) return err;
    }
    for (const n of this.nodes) {
      const err = check(n.name, n.vsn[2] ?? 0, n.vsn[5] ?? 0);
      if (err !== null) return err;
    }
    return null;
  }

  /** Our full state for a push/pull (every node in the list, any state). */
  localState(): PushNodeState[] {
    return this.nodes.map((n) => ({
      name: n.name,
      addr: n.addr,
      port: n.port,
      meta: n.meta,
      incarnation: n.incarnation,
      state: NodeStateCode[n.state],
      vsn: n.vsn.slice(),
    }));
  }

  /**
   * Up to k distinct random nodes not rejected by `exclude` (memberlist kRandomNodes: at most 3·n
   * random draws, so fewer than k may come back).
   */
  kRandomNodes(k: number, exclude: (n: NodeRecord) => boolean): NodeRecord[] {
    const n = this.nodes.length;
    const picked: NodeRecord[] = [];
    for (let i = 0; i < 3 * n && picked.length < k; i++) {
      const node = this.nodes[this.#rng.int(n)] as NodeRecord;
      if (exclude(node) || picked.includes(node)) continue;
      picked.push(node);
    }
    return picked;
  }

  // ---- reaping -------------------------------------------------------------------------------

  /**
   * memberlist resetNodes: removes Dead and Left nodes (never ourselves) whose state changed more
   * than gossipToTheDeadTime ago, then shuffles the list. Returns the names removed.
   */
  reap(now: number): string[] {
    const removed: string[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i] as NodeRecord;
      if (n.name === this.localName) continue; // our own Left record stays until shutdown
      if (
        (n.state === 'dead' || n.state === 'left') &&
        now - n.stateChange > this.#config.gossipToTheDeadTimeMs
      ) {
        this.nodes.splice(i, 1);
        this.#byName.delete(n.name);
        this.#suspicions.delete(n.name);
        removed.push(n.name);
      }
    }
    shuffle(this.nodes, this.#rng);
    return removed;
  }
}
