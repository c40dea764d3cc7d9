// The membership engine: memberlist's SWIM/Lifeguard node as a deterministic state machine
// (etcd raft style: inputs in, a `Ready` of outputs back). It composes members.ts (table and
// precedence rules), probe.ts (failure detection), suspicion.ts, awareness.ts,
// broadcast-queue.ts (gossip), push-pull.ts (anti-entropy and join) and reconnect.ts (push/pull
// with dead nodes, so that a long partition heals).
//
// NO sockets, timers, wall clock or Math.random in here: the driver passes `now` (ms, any
// monotonic origin) to every call and a seeded Rng at construction.
//
// ## Inputs (each returns a Ready)
//   new Engine(options)                     creates our alive (incarnation 1) and queues it
//   tick(now)                               call at or after ready.nextDeadline (earlier is harmless)
//   receive(from, messages, now)            one decoded UDP packet (compound already unwrapped);
//                                           `from` = UDP source (used only for pings without Source*)
//   join(seeds, now)                        push/pull Join=true with each seed (stream requests)
//   pushPullResult(id, reply | {error}, now) the driver finished a push/pull stream request; the
//                                           outcome adds {error: string | null, join}
//   handlePushPull(from, request, now)      an inbound push/pull: returns the reply to write
//                                           (state taken BEFORE merging) and merges
//   handleStreamPing(ping)                  an inbound TCP ping: the ackResp to write, or null
//   tcpPingResult(seqNo, didContact, now)   the driver finished a TCP fallback ping
//   leave(now)                              broadcast our leave; ready.leaveComplete once sent
//                                           transmitLimit times (at once if nobody is alive)
//   updateMeta(meta, now)                   new meta at a new incarnation, gossiped
//
// ## Output: Ready
//   packets   UDP sends: {to, messages, crc, node?}. One message = a plain packet, several = a
//             compound (split into ≤ 255 parts by the codec). `crc`: wrap in hasCrc (12) — set
//             only where memberlist knows the target node and its PMax ≥ 5 (gossip, ping+suspect).
//             Send from the gossip port. Compression/encryption/label are the driver's.
//   streams   TCP requests: {kind:'pushPull', id, to, node?, request, deadline} → answer with
//             pushPullResult(id, …); {kind:'tcpPing', id (= seqNo), to, node, ping, deadline}
//             → answer with tcpPingResult(id, didContact) before `deadline` (later is ignored).
//   events    MemberEvent (members.ts): join | update | alive | suspect | dead | left | conflict.
//   userMessages  user (type 8) payloads received over UDP, with their UDP source.
//   probes    finished probes (node, ok, via, awareness delta), for metrics.
//   remoteUserStates  user state of push/pulls merged during this call (Delegate.MergeRemoteState).
//   leaveComplete true in the Ready of the call during which our leave finished broadcasting.
//   nextDeadline  absolute ms at which tick(now) must be called next (Infinity only when the
//             probe, gossip and push/pull loops are all disabled and no suspicion is running).
//
// ## Deliberate differences from memberlist 0.2.2
// - Messages are applied in arrival order. memberlist's two handoff queues (alive first, newest
//   first, drop when 1024 deep) are modelled in inbound-queue.ts (test/inbound-queue.test.ts shows
//   a refuting alive is not starved by a flood); the driver does not use it yet: it applies each
//   datagram as it is read, so no backlog builds inside the process (the socket buffer drops).
// - Left nodes are reaped like dead ones after gossipToTheDeadTime (memberlist ≥ 0.3.1).
// - The probe and gossip loops run on a grid with a random phase (< 1 interval); Go's tickers
//   have the phase of the node's start time. Same period, same expected behaviour.
// - Gossip rounds with nothing queued are skipped (no wake-up; memberlist's send nothing either):
//   the next round after an idle spell is still on the grid. Only their random node picks differ.
// - Reconnect (reconnect.ts, reconnectIntervalMs; 0 = off): push/pulls with dead nodes, as Serf
//   does on top of memberlist. Ordinary push/pull streams, so the wire stays memberlist's.
// - Not modelled: CIDRsAllowed, DisableTcpPingsForNode, Alive/Merge/Conflict delegates (a
//   conflict is an event instead), UDP write errors as probe failures (≥ 0.3.0 only).

import { estimateSize } from '../wire/message-size.js';
import type { Address } from './address.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { buildVsn, lanConfig, type ProtocolConfig } from './config.js';
import { type MemberEvent, MemberTable, type MemberView, snapshot } from './members.js';
import type { AckResp, Alive, Message, Ping, PushPull } from './messages.js';
import type { Rng } from './prng.js';
import { type ProbeResult, Prober } from './probe.js';
import { PushPuller } from './push-pull.js';
import { Reconnector } from './reconnect.js';

/** Bytes of a compound header (type + count) and per part (u16 length); memberlist util.go. */
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_OVERHEAD = 2;

export interface EngineOptions {
  /** Our node name (unique in the cluster; compared byte for byte). */
  name: string;
  /** Our advertised address: reachable IP (4 or 16 bytes) and gossip port. */
  address: Address;
  /** Timing preset; lanConfig() by default. */
  config?: ProtocolConfig;
  /** Seeded random source (prng.ts createRng). */
  rng: Rng;
  /** Start time, ms. */
  now: number;
  /** Node meta (≤ 512 bytes, memberlist's MetaMaxSize); null = none. */
  meta?: Uint8Array | null;
  /** Payload of our acks (memberlist PingDelegate.AckPayload); null by default. */
  ackPayload?: Uint8Array | null;
  /** Encoded size of a message in bytes; defaults to estimateSize (wire/message-size.ts). */
  sizeOf?: (message: Message) => number;
  /** Bytes each UDP packet loses to the label header and encryption (2+len, 29/45). Default 0. */
  packetOverhead?: number;
  /** Opaque user state sent in push/pulls (memberlist Delegate.LocalState). Default empty. */
  localUserState?: (join: boolean) => Uint8Array;
  /**
   * Warm start: peers known alive from the start, applied like received alive messages but NOT
   * gossiped (the broadcast queue starts empty, our own alive included) and without events.
   * For restoring a snapshot or simulating an already-converged cluster (bench/simulate.ts):
   * without it, N nodes joining at once cost ~retransmitLimit × N² message receptions.
   * memberlist has no equivalent. Default none.
   */
  knownMembers?: readonly Alive[];
}

export interface OutPacket {
  to: Address;
  messages: Message[];
  /** Wrap in a hasCrc (12) header. */
  crc: boolean;
  /** Target node name when known. */
  node?: string;
}

export type StreamRequest =
  | { kind: 'pushPull'; id: number; to: Address; node?: string; request: PushPull; deadline: number }
  | { kind: 'tcpPing'; id: number; to: Address; node: string; ping: Ping; deadline: number };

interface UserMessage {
  from: Address;
  payload: Uint8Array;
}

export interface Ready {
  packets: OutPacket[];
  streams: StreamRequest[];
  events: MemberEvent[];
  userMessages: UserMessage[];
  probes: ProbeResult[];
  /** Remote user state merged during this call (from push/pull), with its join flag. */
  remoteUserStates: { join: boolean; userState: Uint8Array }[];
  leaveComplete: boolean;
  nextDeadline: number;
}

export interface PushPullOutcome extends Ready {
  /** null when the merge succeeded. */
  error: string | null;
  join: boolean;
}

function emptyReady(): Ready {
  return {
    packets: [],
    streams: [],
    events: [],
    userMessages: [],
    probes: [],
    remoteUserStates: [],
    leaveComplete: false,
    nextDeadline: Number.POSITIVE_INFINITY,
  };
}

export class Engine {
  readonly name: string;
  readonly config: ProtocolConfig;
  readonly #address: Address;
  readonly #rng: Rng;
  readonly #members: MemberTable;
  readonly #awareness: Awareness;
  readonly #queue: BroadcastQueue<Message>;
  readonly #prober: Prober;
  readonly #pushPull: PushPuller;
  readonly #reconnect: Reconnector;
  readonly #sizeOf: (message: Message) => number;
  readonly #packetOverhead: number;
  readonly #ackPayload: Uint8Array | null;
  #seqNo = 0;
  #gossipGridStart: number;
  #nextGossipAt: number;
  /** The gossip queue was empty at the end of the last input: no gossip deadline was reported. */
  #gossipIdle = false;
  #leaveDone = false;
  #out: Ready = emptyReady();

  constructor(options: EngineOptions) {
    this.name = options.name;
    this.config = options.config ?? lanConfig();
    this.#address = options.address;
    this.#rng = options.rng;
    this.#sizeOf = options.sizeOf ?? estimateSize;
    this.#packetOverhead = options.packetOverhead ?? 0;
    this.#ackPayload = options.ackPayload ?? null;
    this.#awareness = new Awareness(this.config.awarenessMaxMultiplier);
    this.#queue = new BroadcastQueue<Message>({
      size: this.#sizeOf,
      numNodes: () => this.#members.numNodes,
      retransmitMult: this.config.retransmitMult,
    });
    this.#members = new MemberTable({
      localName: this.name,
      config: this.config,
      rng: this.#rng,
      hooks: {
        broadcast: (message, name, onFinished) => this.#queue.queue(message, name, onFinished),
        event: (event) => {
          this.#out.events.push(event);
          this.#reconnect.observe(event);
        },
        refuted: () => this.#awareness.applyDelta(1),
      },
    });
    const self = () => ({ name: this.name, addr: this.#address.addr, port: this.#address.port });
    this.#prober = new Prober(
      {
        config: this.config,
        rng: this.#rng,
        members: this.#members,
        awareness: this.#awareness,
        self,
        nextSeqNo: () => this.#nextSeqNo(),
        sendMsg: (to, message) => this.#sendMsg(to, message),
        sendRaw: (to, messages, crc, node) => this.#out.packets.push({ to, messages, crc, node }),
        tcpPing: (to, node, ping, deadline) =>
          this.#out.streams.push({ kind: 'tcpPing', id: ping.seqNo, to, node, ping, deadline }),
      },
      options.now,
    );
    this.#pushPull = new PushPuller(
      {
        config: this.config,
        rng: this.#rng,
        members: this.#members,
        request: (id, to, node, request, deadline) =>
          this.#out.streams.push(
            node === undefined
              ? { kind: 'pushPull', id, to, request, deadline }
              : { kind: 'pushPull', id, to, node, request, deadline },
          ),
        localUserState: options.localUserState ?? (() => new Uint8Array(0)),
      },
      options.now,
    );
    this.#reconnect = new Reconnector({
      config: this.config,
      rng: this.#rng,
      members: this.#members,
      exchange: (to, node, now) => this.#pushPull.exchangeWith(to, node, now),
    });
    const gossipInterval = this.config.gossipIntervalMs;
    this.#gossipGridStart = options.now + this.#rng.int(gossipInterval);
    this.#nextGossipAt =
      gossipInterval > 0 && this.config.gossipNodes > 0 ? this.#gossipGridStart : Number.POSITIVE_INFINITY;

    // memberlist setAlive: our first alive, incarnation 1, applied as bootstrap and broadcast.
    const alive: Alive = {
      incarnation: this.#members.nextIncarnation(),
      node: this.name,
      addr: this.#address.addr,
      port: this.#address.port,
      meta: options.meta ?? null,
      vsn: buildVsn(this.config),
    };
    this.#members.aliveNode(alive, options.now, true);
    if (options.knownMembers !== undefined && options.knownMembers.length > 0) {
      for (const a of options.knownMembers) if (a.node !== this.name) this.#members.aliveNode(a, options.now);
      this.#queue.reset();
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  /** memberlist Members(): alive and suspect nodes, self included. */
  members(): MemberView[] {
    return this.#members.members();
  }

  /** Every node in the table (any state, not yet reaped), sorted by name. */
  allNodes(): MemberView[] {
    return this.#members.all();
  }

  node(name: string): MemberView | undefined {
    const n = this.#members.get(name);
    return n === undefined ? undefined : snapshot(n);
  }

  localNode(): MemberView {
    return snapshot(this.#members.local() as NonNullable<ReturnType<MemberTable['local']>>);
  }

  /** Lifeguard health score, 0 = healthy (memberlist GetHealthScore). */
  get healthScore(): number {
    return this.#awareness.score;
  }

  /** estNumNodes: every node in the list, self and unreaped dead nodes included. */
  get estNumNodes(): number {
    return this.#members.numNodes;
  }

  /** Broadcasts waiting to be gossiped. */
  get queuedBroadcasts(): number {
    return this.#queue.length;
  }

  /** Dead nodes the reconnect loop still tries (reconnect.ts), by name; reaped ones included. */
  get reconnectCandidates(): string[] {
    return this.#reconnect.candidates;
  }

  /** Reconnect push/pulls started so far (first attempts and follow-ups). */
  get reconnectAttempts(): number {
    return this.#reconnect.attempts;
  }

  /** Whether leave() was called. */
  get leaving(): boolean {
    return this.#members.leaving;
  }

  // ---- inputs --------------------------------------------------------------------------------

  tick(now: number): Ready {
    this.#begin(now);
    this.#members.fireSuspicions(now);
    this.#prober.tick(now);
    this.#pushPull.tick(now);
    this.#reconnect.tick(now);
    if (now >= this.#nextGossipAt) {
      const interval = this.config.gossipIntervalMs;
      this.#nextGossipAt =
        this.#gossipGridStart + (Math.floor((now - this.#gossipGridStart) / interval) + 1) * interval;
      this.#gossip(now);
    }
    return this.#end();
  }

  receive(from: Address, messages: Message | readonly Message[], now: number): Ready {
    this.#begin(now);
    const list: readonly Message[] = Array.isArray(messages) ? messages : [messages as Message];
    for (const m of list) this.#handle(from, m, now);
    return this.#end();
  }

  join(seeds: readonly Address[], now: number): Ready {
    this.#begin(now);
    this.#pushPull.join(seeds, now);
    return this.#end();
  }

  pushPullResult(id: number, reply: PushPull | { error: string }, now: number): PushPullOutcome {
    this.#begin(now);
    const r = this.#pushPull.onResult(id, reply, now);
    const merged = r.error === null && !('error' in reply);
    if (merged) this.#out.remoteUserStates.push({ join: reply.join, userState: reply.userState });
    const joined: string[] = [];
    for (const e of this.#out.events) if (e.kind === 'join') joined.push(e.node.name);
    this.#reconnect.onResult(id, merged ? reply : undefined, joined, now);
    return { ...this.#end(), error: r.error, join: r.join };
  }

  /**
   * An inbound push/pull (memberlist handleConn pushPullMsg): the reply carries our state taken
   * before the merge, with the request's Join flag. `error` is set when verifyProtocol failed
   * (Go still replies first, then fails the merge).
   */
  handlePushPull(
    _from: Address,
    request: PushPull,
    now: number,
  ): { reply: PushPull; ready: Ready; error: string | null } {
    this.#begin(now);
    const reply = this.#pushPull.localState(request.join);
    const error = this.#pushPull.merge(request, now);
    if (error === null) this.#out.remoteUserStates.push({ join: request.join, userState: request.userState });
    return { reply, ready: this.#end(), error };
  }

  /** An inbound TCP ping: the ack to write back, or null for a ping addressed to another name. */
  handleStreamPing(ping: Ping): AckResp | null {
    if (ping.node !== '' && ping.node !== this.name) return null;
    return { seqNo: ping.seqNo, payload: this.#ackPayload };
  }

  tcpPingResult(seqNo: number, didContact: boolean, now: number): Ready {
    this.#begin(now);
    this.#prober.onTcpPingResult(seqNo, didContact);
    this.#prober.tick(now);
    return this.#end();
  }

  leave(now: number): Ready {
    this.#begin(now);
    if (!this.#members.leaving) {
      this.#members.leaving = true;
      const me = this.#members.local();
      if (me !== undefined) {
        this.#members.deadNode({ incarnation: me.incarnation, node: me.name, from: me.name }, now, () => {
          this.#completeLeave();
        });
      }
      if (!this.#members.anyAlive()) this.#completeLeave();
    }
    return this.#end();
  }

  /** Gossips new meta at a new incarnation (memberlist UpdateNode). */
  updateMeta(meta: Uint8Array | null, now: number): Ready {
    this.#begin(now);
    const me = this.#members.local();
    if (me !== undefined && !this.#members.leaving) {
      this.#members.aliveNode(
        {
          incarnation: this.#members.nextIncarnation(),
          node: this.name,
          addr: me.addr,
          port: me.port,
          meta,
          vsn: buildVsn(this.config),
        },
        now,
        true,
      );
    }
    return this.#end();
  }

  // ---- internals -----------------------------------------------------------------------------

  #begin(now: number): void {
    this.#out = emptyReady();
    // Gossip rounds are not woken for while nothing is queued (#end). Those rounds sent nothing (an
    // empty queue, memberlist's gossip() returns after picking its nodes), so they are skipped here:
    // the next round is the first grid point at or after now, exactly when it would have come had
    // every round run. Only the random picks of the skipped rounds are saved.
    if (this.#gossipIdle && this.#nextGossipAt < now) {
      const interval = this.config.gossipIntervalMs;
      this.#nextGossipAt =
        this.#gossipGridStart + Math.ceil((now - this.#gossipGridStart) / interval) * interval;
    }
  }

  #end(): Ready {
    const out = this.#out;
    if (this.#prober.results.length > 0) out.probes.push(...this.#prober.results.splice(0));
    // An idle node (nothing to gossip) is not woken every gossip interval: with the Local profile's
    // 100 ms that wake-up was a third of an idle node's CPU (bench/cluster.ts). See #begin.
    this.#gossipIdle = this.#queue.length === 0;
    out.nextDeadline = Math.min(
      this.#prober.nextDeadline(),
      this.#pushPull.nextDeadline(),
      this.#reconnect.nextDeadline(),
      this.#gossipIdle ? Number.POSITIVE_INFINITY : this.#nextGossipAt,
      this.#members.nextSuspicionDeadline() ?? Number.POSITIVE_INFINITY,
    );
    // No fresh Ready here: #begin() installs one before the next call can push into it.
    return out;
  }

  #completeLeave(): void {
    if (this.#leaveDone) return;
    this.#leaveDone = true;
    this.#out.leaveComplete = true;
  }

  #nextSeqNo(): number {
    this.#seqNo = (this.#seqNo + 1) >>> 0;
    return this.#seqNo;
  }

  /** memberlist sendMsg: the message plus as many queued broadcasts as fit in one packet. */
  #sendMsg(to: Address, message: Message): void {
    const avail =
      this.config.udpBufferSize - this.#sizeOf(message) - COMPOUND_HEADER_OVERHEAD - this.#packetOverhead;
    const extra = this.#queue.getBroadcasts(COMPOUND_OVERHEAD, avail);
    this.#out.packets.push({ to, messages: [message, ...extra], crc: false });
  }

  /** memberlist gossip: queued broadcasts to gossipNodes random live (or recently dead) nodes. */
  #gossip(now: number): void {
    const nodes = this.#members.kRandomNodes(this.config.gossipNodes, (n) => {
      if (n.name === this.name) return true;
      if (n.state === 'alive' || n.state === 'suspect') return false;
      if (n.state === 'dead') return now - n.stateChange > this.config.gossipToTheDeadTimeMs;
      return true;
    });
    const avail = this.config.udpBufferSize - COMPOUND_HEADER_OVERHEAD - this.#packetOverhead;
    for (const node of nodes) {
      const msgs = this.#queue.getBroadcasts(COMPOUND_OVERHEAD, avail);
      if (msgs.length === 0) return;
      this.#out.packets.push({
        to: { addr: node.addr, port: node.port },
        messages: msgs,
        crc: (node.vsn[1] ?? 0) >= 5,
        node: node.name,
      });
    }
  }

  #handle(from: Address, m: Message, now: number): void {
    switch (m.type) {
      case 'ping': {
        const p = m.body;
        if (p.node !== '' && p.node !== this.name) return;
        const to =
          p.sourceAddr !== undefined && p.sourceAddr.length > 0 && (p.sourcePort ?? 0) > 0
            ? { addr: p.sourceAddr, port: p.sourcePort ?? 0 }
            : from;
        this.#sendMsg(to, { type: 'ackResp', body: { seqNo: p.seqNo, payload: this.#ackPayload } });
        return;
      }
      case 'indirectPing':
        this.#prober.onIndirectPing(from, m.body, now);
        return;
      case 'ackResp':
        this.#prober.onAck(m.body.seqNo);
        return;
      case 'nackResp':
        this.#prober.onNack(m.body.seqNo);
        return;
      case 'suspect':
        this.#members.suspectNode(m.body, now);
        return;
      case 'alive': {
        const a = m.body;
        const port = a.port === 0 || this.config.protocolVersion < 2 ? this.config.bindPort : a.port;
        this.#members.aliveNode(port === a.port ? a : { ...a, port }, now);
        return;
      }
      case 'dead':
        this.#members.deadNode(m.body, now);
        return;
      case 'user':
        this.#out.userMessages.push({ from, payload: m.body });
        return;
      case 'err':
        return;
    }
  }
}
