// A fast, seeded discrete-event network for MANY membership engines in one process (hundreds to
// thousands), with the faults SWIM/Lifeguard are about. sim-network.ts is the small, convenient
// harness of the unit tests; this one trades convenience for speed:
//   - nodes are integers; node i has IP 10.a.b.c with (a<<16 | b<<8 | c) = i + 1, so an Address
//     maps back to its node without a lookup table or a string key;
//   - ONE binary min-heap (time, seq) holds every event: packet deliveries, stream steps and node
//     wake-ups. A wake-up is pushed whenever an engine's nextDeadline changes; a stale one (the
//     node re-scheduled since) is skipped when popped, so no per-step scan of all nodes;
//   - messages are NOT copied (engines never mutate what they receive or send; sim-scale.test.ts
//     checks that a run with `clone: true` is identical), and statistics live in typed arrays.
//
// Fault model (all decisions from one seeded Rng, so a run is a pure function of its options):
//   loss         each UDP packet is dropped with probability `loss`;
//   delay        one-way delay uniform in [minDelayMs, maxDelayMs] per packet, so packets reorder;
//   duplicate    with probability `duplicate` a packet is delivered a second time (own delay);
//   crash        a crashed node drops everything and never ticks (restart = a new engine);
//   partitions   partition(groups): traffic between different groups is dropped (UDP and TCP);
//                block(from, to): one direction only (asymmetric partition); heal() clears both;
//   starvation   starve(i, {packetDelayMs, tickDelayMs}): the node is CPU-starved — every packet
//                it receives is handled up to packetDelayMs late (uniform) and every tick up to
//                tickDelayMs late (Lifeguard's "slow member": its timers fire before the acks it
//                already received are processed, so it accuses healthy peers).
// Streams (push/pull, TCP fallback ping) are reliable but take one delay each way; they fail at
// their deadline when either direction is blocked or the peer is down.
//
// Accounting (per node): UDP packets, messages (piggybacked ones included) and bytes sent, where
// bytes = Σ estimateSize(message) (the codec's exact length, message-size.ts) + compound overhead
// (1 + 1 + 2 per part) — the memberlist payload before compression, CRC, encryption, label and
// IP/UDP headers. Streams counted apart.

import type { Address } from '../src/protocol/address.js';
import { buildVsn, lanConfig, type ProtocolConfig } from '../src/protocol/config.js';
import { Engine, type Ready } from '../src/protocol/engine.js';
import type { MemberEvent } from '../src/protocol/members.js';
import type { Alive, Message, Ping, PushPull } from '../src/protocol/messages.js';
import { createRng, type Rng } from '../src/protocol/prng.js';
import { estimateSize } from '../src/wire/message-size.js';

export interface ScaleSimOptions {
  seed: number;
  config?: ProtocolConfig;
  loss?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  duplicate?: number;
  /** structuredClone every message crossing the network (slow; for checking purposes). */
  clone?: boolean;
  /** Per-node config (e.g. reconnect off on some nodes, like Go memberlist peers); default `config`. */
  nodeConfig?: (i: number) => ProtocolConfig;
  /** Called for every membership event, in simulated-time order. */
  onEvent?: (time: number, observer: number, event: MemberEvent) => void;
}

export interface StarveOptions {
  /** Each received packet is handled up to this much later, ms (uniform). */
  packetDelayMs: number;
  /** Each tick runs up to this much later, ms (uniform). */
  tickDelayMs: number;
}

enum Kind {
  Wake = 0,
  Deliver = 1,
  PushPullArrive = 2,
  PushPullReply = 3,
  PushPullFail = 4,
  TcpPingArrive = 5,
  TcpPingResult = 6,
}

interface Ev {
  time: number;
  seq: number;
  kind: Kind;
  /** Node that handles the event. */
  node: number;
  /** Wake: the engine generation; others: sender node. */
  from: number;
  /** Engine generation of the requester (streams). */
  gen: number;
  id: number;
  ok: boolean;
  payload: unknown;
}

/** Binary min-heap on (time, seq), sift without swaps. */
class EventHeap {
  readonly #h: Ev[] = [];
  get size(): number {
    return this.#h.length;
  }
  push(e: Ev): void {
    const h = this.#h;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = h[p] as Ev;
      if (q.time < e.time || (q.time === e.time && q.seq < e.seq)) break;
      h[i] = q;
      i = p;
    }
    h[i] = e;
  }
  peekTime(): number {
    return this.#h.length > 0 ? (this.#h[0] as Ev).time : Number.POSITIVE_INFINITY;
  }
  pop(): Ev | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    const n = h.length;
    if (n > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let c = h[l] as Ev;
        if (r < n) {
          const cr = h[r] as Ev;
          if (cr.time < c.time || (cr.time === c.time && cr.seq < c.seq)) {
            m = r;
            c = cr;
          }
        }
        if (last.time < c.time || (last.time === c.time && last.seq < c.seq)) break;
        h[i] = c;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

/** Node index ↔ IP 10.a.b.c (index + 1 in the low 24 bits). */
export function simAddress(i: number, port = 7946): Address {
  const v = i + 1;
  return { addr: Uint8Array.of(10, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff), port };
}

export function simIndex(a: Address): number {
  const b = a.addr;
  if (b.length !== 4) return -1;
  return (((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) - 1;
}

export function simName(i: number): string {
  return `node-${String(i).padStart(4, '0')}`;
}

const COMPOUND_HEAD = 2;
const COMPOUND_PART = 2;

export class ScaleSim {
  now = 0;
  readonly config: ProtocolConfig;
  readonly engines: (Engine | undefined)[] = [];
  readonly names: string[] = [];
  /** Running (not crashed, started). */
  readonly up: boolean[] = [];
  /** Engine generation (restarts) per node. */
  readonly gen: number[] = [];
  readonly starved: (StarveOptions | undefined)[] = [];
  /** Partition group per node (0 by default). */
  readonly group: number[] = [];
  /** Last time the node was started, crashed, (un)starved, partitioned, blocked or healed. */
  readonly disruptedAt: number[] = [];
  /** Per node: UDP packets, messages and bytes sent; streams opened and stream bytes sent. */
  packetsSent = new Float64Array(0);
  messagesSent = new Float64Array(0);
  bytesSent = new Float64Array(0);
  packetsReceived = new Float64Array(0);
  streamsOpened = new Float64Array(0);
  streamBytes = new Float64Array(0);
  stats = { packets: 0, lost: 0, duplicated: 0, blocked: 0, events: 0, wakes: 0 };

  readonly #heap = new EventHeap();
  readonly #rng: Rng;
  readonly #loss: number;
  readonly #minDelay: number;
  readonly #spanDelay: number;
  readonly #dup: number;
  readonly #clone: boolean;
  readonly #onEvent: ScaleSimOptions['onEvent'];
  readonly #nodeConfig: ScaleSimOptions['nodeConfig'];
  /** Scheduled wake time per node (the one not stale), +∞ if none. */
  #wakeAt: number[] = [];
  /** Blocked directed pairs, key from * 2^21 + to. */
  readonly #blocked = new Set<number>();
  #seq = 0;
  readonly #byName = new Map<string, number>();

  constructor(options: ScaleSimOptions) {
    this.#rng = createRng(options.seed);
    this.config = options.config ?? lanConfig();
    this.#loss = options.loss ?? 0;
    this.#minDelay = options.minDelayMs ?? 1;
    this.#spanDelay = (options.maxDelayMs ?? 5) - this.#minDelay;
    this.#dup = options.duplicate ?? 0;
    this.#clone = options.clone ?? false;
    this.#onEvent = options.onEvent;
    this.#nodeConfig = options.nodeConfig;
  }

  get size(): number {
    return this.engines.length;
  }

  indexOf(name: string): number {
    return this.#byName.get(name) ?? -1;
  }

  /** Creates `n` more (not started) nodes; returns the first new index. */
  addNodes(n: number): number {
    const first = this.engines.length;
    for (let i = first; i < first + n; i++) {
      this.engines.push(undefined);
      this.names.push(simName(i));
      this.#byName.set(simName(i), i);
      this.up.push(false);
      this.gen.push(0);
      this.starved.push(undefined);
      this.group.push(0);
      this.disruptedAt.push(this.now);
      this.#wakeAt.push(Number.POSITIVE_INFINITY);
    }
    const grow = (a: Float64Array) => {
      const b = new Float64Array(this.engines.length);
      b.set(a);
      return b;
    };
    this.packetsSent = grow(this.packetsSent);
    this.messagesSent = grow(this.messagesSent);
    this.bytesSent = grow(this.bytesSent);
    this.packetsReceived = grow(this.packetsReceived);
    this.streamsOpened = grow(this.streamsOpened);
    this.streamBytes = grow(this.streamBytes);
    return first;
  }

  /** Starts (or restarts, with a fresh engine) node i; with seeds it joins them. */
  start(i: number, seeds: readonly number[] = []): Engine {
    const engine = new Engine({
      name: this.names[i] as string,
      address: simAddress(i),
      config: this.#nodeConfig?.(i) ?? this.config,
      rng: createRng(this.#rng.nextU32()),
      now: this.now,
    });
    this.engines[i] = engine;
    this.up[i] = true;
    this.gen[i] = (this.gen[i] as number) + 1;
    this.#wakeAt[i] = Number.POSITIVE_INFINITY;
    this.disruptedAt[i] = this.now;
    this.#apply(i, engine.tick(this.now));
    if (seeds.length > 0)
      this.#apply(
        i,
        engine.join(
          seeds.map((s) => simAddress(s)),
          this.now,
        ),
      );
    return engine;
  }

  /**
   * Starts nodes `ids` as an already-converged cluster (EngineOptions.knownMembers): each knows
   * every other one alive at incarnation 1, nothing queued for gossip.
   */
  startWarm(ids: readonly number[]): void {
    const vsn = buildVsn(this.config);
    const alives: Alive[] = ids.map((i) => {
      const a = simAddress(i);
      return { incarnation: 1, node: this.names[i] as string, addr: a.addr, port: a.port, meta: null, vsn };
    });
    for (const i of ids) {
      const engine = new Engine({
        name: this.names[i] as string,
        address: simAddress(i),
        config: this.#nodeConfig?.(i) ?? this.config,
        rng: createRng(this.#rng.nextU32()),
        now: this.now,
        knownMembers: alives,
      });
      this.engines[i] = engine;
      this.up[i] = true;
      this.gen[i] = (this.gen[i] as number) + 1;
      this.#wakeAt[i] = Number.POSITIVE_INFINITY;
      this.disruptedAt[i] = Number.NEGATIVE_INFINITY; // converged from the start: nothing to recover from
      this.#apply(i, engine.tick(this.now));
    }
  }

  crash(i: number): void {
    this.up[i] = false;
    this.#wakeAt[i] = Number.POSITIVE_INFINITY;
    this.disruptedAt[i] = this.now;
  }

  leave(i: number): void {
    const e = this.engines[i];
    if (e !== undefined && this.up[i]) this.#apply(i, e.leave(this.now));
  }

  starve(i: number, options: StarveOptions | undefined): void {
    this.starved[i] = options;
    this.disruptedAt[i] = this.now;
  }

  /** Puts nodes into groups; traffic between different groups is dropped. Others stay in 0. */
  partition(groups: readonly (readonly number[])[]): void {
    this.group.fill(0);
    groups.forEach((g, gi) => {
      for (const i of g) this.group[i] = gi + 1;
    });
    this.disruptedAt.fill(this.now);
  }

  /** Drops every packet and stream step from `from` to `to` (one direction). */
  block(from: number, to: number): void {
    this.#blocked.add(from * 2_097_152 + to);
    this.disruptedAt[from] = this.now;
    this.disruptedAt[to] = this.now;
  }

  heal(): void {
    this.group.fill(0);
    this.#blocked.clear();
    this.disruptedAt.fill(this.now);
  }

  /** Whether a packet from `a` reaches `b` now (partitions and blocks only). */
  reaches(a: number, b: number): boolean {
    return (
      this.group[a] === this.group[b] && (this.#blocked.size === 0 || !this.#blocked.has(a * 2_097_152 + b))
    );
  }

  /** Runs until `time` (inclusive). */
  runUntil(time: number): void {
    const heap = this.#heap;
    while (heap.peekTime() <= time) {
      const ev = heap.pop() as Ev;
      if (ev.time > this.now) this.now = ev.time;
      this.#run(ev);
    }
    if (time > this.now) this.now = time;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  // ---- internals -----------------------------------------------------------------------------

  #push(
    time: number,
    kind: Kind,
    node: number,
    from: number,
    gen: number,
    id: number,
    ok: boolean,
    payload: unknown,
  ): void {
    this.#heap.push({ time, seq: this.#seq++, kind, node, from, gen, id, ok, payload });
  }

  #delay(): number {
    return this.#minDelay + this.#rng.next() * this.#spanDelay;
  }

  /** Extra handling delay of node i when it is starved (0 otherwise). */
  #lag(i: number): number {
    const s = i >= 0 ? this.starved[i] : undefined;
    return s !== undefined && s.packetDelayMs > 0 ? this.#rng.next() * s.packetDelayMs : 0;
  }

  #copy<T>(v: T): T {
    return this.#clone ? structuredClone(v) : v;
  }

  #run(ev: Ev): void {
    const i = ev.node;
    switch (ev.kind) {
      case Kind.Wake: {
        if (!this.up[i] || ev.gen !== this.gen[i] || this.#wakeAt[i] !== ev.time) return;
        this.#wakeAt[i] = Number.POSITIVE_INFINITY;
        this.stats.wakes += 1;
        this.#apply(i, (this.engines[i] as Engine).tick(this.now));
        return;
      }
      case Kind.Deliver: {
        if (!this.up[i]) return;
        this.packetsReceived[i] = (this.packetsReceived[i] as number) + 1;
        this.#apply(
          i,
          (this.engines[i] as Engine).receive(simAddress(ev.from), ev.payload as Message[], this.now),
        );
        return;
      }
      case Kind.PushPullArrive: {
        const from = ev.from;
        const { request, deadline } = ev.payload as { request: PushPull; deadline: number };
        if (!this.up[i] || !this.reaches(from, i) || !this.reaches(i, from)) {
          // a dial into a partition or a dead host times out at the request's deadline
          this.#push(Math.max(this.now, deadline), Kind.PushPullFail, from, i, ev.gen, ev.id, false, null);
          return;
        }
        const { reply, ready } = (this.engines[i] as Engine).handlePushPull(
          simAddress(from),
          this.#copy(request),
          this.now,
        );
        this.#apply(i, ready);
        this.streamBytes[i] = (this.streamBytes[i] as number) + pushPullBytes(reply);
        this.#push(
          this.now + this.#delay() + this.#lag(from),
          Kind.PushPullReply,
          from,
          i,
          ev.gen,
          ev.id,
          true,
          this.#copy(reply),
        );
        return;
      }
      case Kind.PushPullReply:
      case Kind.PushPullFail: {
        if (!this.up[i] || ev.gen !== this.gen[i]) return;
        const e = this.engines[i] as Engine;
        const reply = ev.kind === Kind.PushPullReply ? (ev.payload as PushPull) : { error: 'unreachable' };
        this.#apply(i, e.pushPullResult(ev.id, reply, this.now));
        return;
      }
      case Kind.TcpPingArrive: {
        const from = ev.from;
        const { ping, deadline } = ev.payload as { ping: Ping; deadline: number };
        const e = this.engines[i];
        const ok =
          this.up[i] === true &&
          e !== undefined &&
          this.reaches(from, i) &&
          this.reaches(i, from) &&
          e.handleStreamPing(this.#copy(ping)) !== null;
        // a starved node answers its TCP pings as late as its packets, and reads results as late
        const back = this.now + this.#delay() + this.#lag(i) + this.#lag(from);
        const when = ok && back <= deadline ? back : Math.max(this.now, deadline);
        this.#push(when, Kind.TcpPingResult, from, i, ev.gen, ev.id, ok && back <= deadline, null);
        return;
      }
      case Kind.TcpPingResult: {
        if (!this.up[i] || ev.gen !== this.gen[i]) return;
        this.#apply(i, (this.engines[i] as Engine).tcpPingResult(ev.id, ev.ok, this.now));
        return;
      }
    }
  }

  #apply(i: number, ready: Ready): void {
    if (ready.events.length > 0) {
      this.stats.events += ready.events.length;
      const cb = this.#onEvent;
      if (cb !== undefined) for (const e of ready.events) cb(this.now, i, e);
    }
    const starve = this.starved[i];
    for (const p of ready.packets) this.#send(i, p.to, p.messages);
    for (const s of ready.streams) {
      this.streamsOpened[i] = (this.streamsOpened[i] as number) + 1;
      const to = simIndex(s.to);
      const g = this.gen[i] as number;
      if (s.kind === 'pushPull') {
        this.streamBytes[i] = (this.streamBytes[i] as number) + pushPullBytes(s.request);
        if (to < 0 || to >= this.size) {
          this.#push(Math.max(this.now, s.deadline), Kind.PushPullFail, i, -1, g, s.id, false, null);
        } else {
          this.#push(this.now + this.#delay() + this.#lag(to), Kind.PushPullArrive, to, i, g, s.id, true, {
            request: this.#copy(s.request),
            deadline: s.deadline,
          });
        }
      } else if (to < 0 || to >= this.size) {
        this.#push(Math.max(this.now, s.deadline), Kind.TcpPingResult, i, -1, g, s.id, false, null);
      } else {
        this.#push(this.now + this.#delay(), Kind.TcpPingArrive, to, i, g, s.id, true, {
          ping: s.ping,
          deadline: s.deadline,
        });
      }
    }
    if (this.up[i]) {
      let next = ready.nextDeadline;
      if (next !== Number.POSITIVE_INFINITY) {
        if (next < this.now) next = this.now;
        if (starve !== undefined && starve.tickDelayMs > 0) next += this.#rng.next() * starve.tickDelayMs;
        if (next < (this.#wakeAt[i] as number)) {
          this.#wakeAt[i] = next;
          this.#push(next, Kind.Wake, i, -1, this.gen[i] as number, 0, true, null);
        }
      }
    }
  }

  #send(from: number, toAddr: Address, messages: Message[]): void {
    this.stats.packets += 1;
    this.packetsSent[from] = (this.packetsSent[from] as number) + 1;
    this.messagesSent[from] = (this.messagesSent[from] as number) + messages.length;
    let bytes = messages.length > 1 ? COMPOUND_HEAD + COMPOUND_PART * messages.length : 0;
    for (const m of messages) bytes += estimateSize(m);
    this.bytesSent[from] = (this.bytesSent[from] as number) + bytes;
    const to = simIndex(toAddr);
    if (to < 0 || to >= this.size) return;
    if (this.#loss > 0 && this.#rng.next() < this.#loss) {
      this.stats.lost += 1;
      return;
    }
    if (!this.reaches(from, to)) {
      this.stats.blocked += 1;
      return;
    }
    const copies = this.#dup > 0 && this.#rng.next() < this.#dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated += 1;
    for (let c = 0; c < copies; c++) {
      this.#push(
        this.now + this.#delay() + this.#lag(to),
        Kind.Deliver,
        to,
        from,
        0,
        0,
        true,
        this.#copy(messages),
      );
    }
  }
}

/** Rough push/pull size: header plus ~(name + 40) bytes per node state (for accounting only). */
function pushPullBytes(p: PushPull): number {
  let b = 16 + p.userState.length;
  for (const s of p.states) b += s.name.length + 40 + (s.meta?.length ?? 0);
  return b;
}
