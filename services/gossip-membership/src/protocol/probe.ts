// Failure detection: the SWIM probe loop with Lifeguard adjustments (memberlist `state.go` probe /
// probeNode, `net.go` handleIndirectPing / handleAck / handleNack; docs/wire.md §12).
//
// Every probeInterval (on a fixed grid after a random initial stagger) one node is probed,
// round-robin through the shuffled node list, skipping self and Dead/Left nodes; when the index
// wraps, dead/left nodes past gossipToTheDeadTime are reaped and the list is reshuffled.
//
// probe(target), with interval = probeInterval × (healthScore + 1):
//   t0                 ping{seq, Node: target} — piggybacked gossip if the target is Alive, else
//                      compound[ping, suspect{target}] so it can refute (CRC if its PMax ≥ 5).
//   t0+probeTimeout    no ack: indirectPingReq{same seq, Nack: relay PMax ≥ 4} to indirectChecks
//                      random alive nodes, and (target PMax ≥ 3, TCP pings enabled) a TCP fallback
//                      ping with deadline t0+interval (a stream request for the driver).
//   t0+interval        ack (direct or relayed) any time before → success, health −1.
//                      Else TCP fallback reached the target → success, health −1.
//                      Else failure: health + (expected nacks − nacks) or +1 when none were
//                      expected; then suspect{target.incarnation (as of t0), target, self}.
// The next probe starts at the first grid tick after the current one ends (a Go ticker keeps one
// pending tick, so a probe stretched by awareness is followed at once by the next).
//
// Relaying (we received an indirectPingReq): ping the target with our own seq; on its ack send
// ackResp{req.seq} to the requester (Source* or the UDP source); if req.Nack and no ack within
// probeTimeout, send nackResp{req.seq}.
//
// Acks for unknown seqs are ignored; an ack removes its handler; a nack keeps it.
//
// Pure: time comes in as `now`; sends go through the ProbeContext the engine provides.

import type { Address } from './address.js';
import type { Awareness } from './awareness.js';
import type { ProtocolConfig } from './config.js';
import type { MemberTable, NodeRecord } from './members.js';
import type { IndirectPingReq, Message, Ping } from './messages.js';
import type { Rng } from './prng.js';

export interface ProbeContext {
  config: ProtocolConfig;
  rng: Rng;
  members: MemberTable;
  awareness: Awareness;
  /** Our advertised address and name (the Source* fields). */
  self: () => { name: string; addr: Uint8Array; port: number };
  nextSeqNo: () => number;
  /** Send one message with piggybacked broadcasts (memberlist sendMsg). */
  sendMsg: (to: Address, message: Message) => void;
  /** Send exactly these messages in one packet (compound if several), no piggybacking. */
  sendRaw: (to: Address, messages: Message[], crc: boolean, node: string) => void;
  /** Ask the driver for a TCP fallback ping; it answers with Engine.tcpPingResult(seqNo, …). */
  tcpPing: (to: Address, node: string, ping: Ping, deadline: number) => void;
}

interface ProbeInFlight {
  target: Readonly<NodeRecord>;
  seqNo: number;
  ping: Ping;
  startedAt: number;
  probeTimeoutAt: number;
  deadline: number;
  phase: 'direct' | 'indirect';
  expectedNacks: number;
  nacks: number;
  tcp: 'none' | 'pending' | 'ok' | 'failed';
}

interface RelayHandler {
  replyTo: Address;
  origSeqNo: number;
  nack: boolean;
  expiresAt: number;
}

/** The outcome of a finished probe, for observers and tests. */
export interface ProbeResult {
  node: string;
  ok: boolean;
  via: 'direct-or-indirect' | 'tcp' | 'none';
  awarenessDelta: number;
}

export class Prober {
  #probe: ProbeInFlight | undefined;
  readonly #relays = new Map<number, RelayHandler>();
  #probeIndex = 0;
  #gridStart: number;
  #nextProbeAt: number;
  /** Finished probes since the last drain (diagnostics). */
  readonly results: ProbeResult[] = [];

  constructor(
    private readonly ctx: ProbeContext,
    now: number,
  ) {
    this.#gridStart = now + ctx.rng.int(ctx.config.probeIntervalMs);
    this.#nextProbeAt = this.#gridStart;
  }

  /** The probe in flight (target name and seq), if any. */
  get current(): { node: string; seqNo: number } | undefined {
    return this.#probe === undefined
      ? undefined
      : { node: this.#probe.target.name, seqNo: this.#probe.seqNo };
  }

  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    const p = this.#probe;
    if (p === undefined) {
      if (this.ctx.config.probeIntervalMs > 0) next = this.#nextProbeAt;
    } else {
      next = p.phase === 'direct' ? Math.min(p.probeTimeoutAt, p.deadline) : p.deadline;
    }
    for (const r of this.#relays.values()) next = Math.min(next, r.expiresAt);
    return next;
  }

  tick(now: number): void {
    for (const [seq, r] of [...this.#relays]) {
      if (now < r.expiresAt) continue;
      this.#relays.delete(seq);
      if (r.nack) this.ctx.sendMsg(r.replyTo, { type: 'nackResp', body: { seqNo: r.origSeqNo } });
    }
    const p = this.#probe;
    if (p !== undefined) {
      if (p.phase === 'direct' && now >= p.probeTimeoutAt) this.#startIndirect(p);
      if (now >= p.deadline) this.#finish(p, now);
    }
    if (this.#probe === undefined && this.ctx.config.probeIntervalMs > 0 && now >= this.#nextProbeAt) {
      const interval = this.ctx.config.probeIntervalMs;
      this.#nextProbeAt = this.#gridStart + (Math.floor((now - this.#gridStart) / interval) + 1) * interval;
      this.#probeNext(now);
    }
  }

  /** An ack for `seqNo` arrived (UDP, possibly relayed). */
  onAck(seqNo: number): void {
    const p = this.#probe;
    if (p !== undefined && p.seqNo === seqNo) {
      this.#probe = undefined;
      this.ctx.awareness.applyDelta(-1);
      this.results.push({ node: p.target.name, ok: true, via: 'direct-or-indirect', awarenessDelta: -1 });
      return;
    }
    const r = this.#relays.get(seqNo);
    if (r !== undefined) {
      this.#relays.delete(seqNo);
      this.ctx.sendMsg(r.replyTo, { type: 'ackResp', body: { seqNo: r.origSeqNo, payload: null } });
    }
  }

  onNack(seqNo: number): void {
    const p = this.#probe;
    if (p !== undefined && p.seqNo === seqNo) p.nacks += 1;
  }

  /** Result of a TCP fallback ping requested for `seqNo`. */
  onTcpPingResult(seqNo: number, didContact: boolean): void {
    const p = this.#probe;
    if (p !== undefined && p.seqNo === seqNo && p.tcp === 'pending') p.tcp = didContact ? 'ok' : 'failed';
  }

  /** We were asked to probe a node on someone's behalf. */
  onIndirectPing(from: Address, req: IndirectPingReq, now: number): void {
    const self = this.ctx.self();
    const seqNo = this.ctx.nextSeqNo();
    const port = req.port === 0 || this.ctx.config.protocolVersion < 2 ? this.ctx.config.bindPort : req.port;
    const replyTo =
      req.sourceAddr !== undefined && req.sourceAddr.length > 0 && (req.sourcePort ?? 0) > 0
        ? { addr: req.sourceAddr, port: req.sourcePort ?? 0 }
        : from;
    this.#relays.set(seqNo, {
      replyTo,
      origSeqNo: req.seqNo,
      nack: req.nack,
      expiresAt: now + this.ctx.config.probeTimeoutMs,
    });
    this.ctx.sendMsg(
      { addr: req.target, port },
      {
        type: 'ping',
        body: { seqNo, node: req.node, sourceAddr: self.addr, sourcePort: self.port, sourceNode: self.name },
      },
    );
  }

  // ---- internals -----------------------------------------------------------------------------

  #probeNext(now: number): void {
    const { members } = this.ctx;
    let numCheck = 0;
    for (;;) {
      if (numCheck >= members.nodes.length) return;
      if (this.#probeIndex >= members.nodes.length) {
        members.reap(now);
        this.#probeIndex = 0;
        numCheck += 1;
        continue;
      }
      const node = members.nodes[this.#probeIndex] as NodeRecord;
      this.#probeIndex += 1;
      if (node.name === members.localName || node.state === 'dead' || node.state === 'left') {
        numCheck += 1;
        continue;
      }
      this.#start({ ...node }, now);
      return;
    }
  }

  #start(target: Readonly<NodeRecord>, now: number): void {
    const { config, awareness } = this.ctx;
    const self = this.ctx.self();
    const interval = awareness.scaleTimeout(config.probeIntervalMs);
    const seqNo = this.ctx.nextSeqNo();
    const ping: Ping = {
      seqNo,
      node: target.name,
      sourceAddr: self.addr,
      sourcePort: self.port,
      sourceNode: self.name,
    };
    const to = { addr: target.addr, port: target.port };
    this.#probe = {
      target,
      seqNo,
      ping,
      startedAt: now,
      probeTimeoutAt: now + config.probeTimeoutMs,
      deadline: now + interval,
      phase: 'direct',
      expectedNacks: 0,
      nacks: 0,
      tcp: 'none',
    };
    if (target.state === 'alive' || config.disableRefutationBuddy === true) {
      this.ctx.sendMsg(to, { type: 'ping', body: ping });
    } else {
      const suspect: Message = {
        type: 'suspect',
        body: { incarnation: target.incarnation, node: target.name, from: self.name },
      };
      this.ctx.sendRaw(to, [{ type: 'ping', body: ping }, suspect], (target.vsn[1] ?? 0) >= 5, target.name);
    }
  }

  #startIndirect(p: ProbeInFlight): void {
    const { config, members } = this.ctx;
    const self = this.ctx.self();
    p.phase = 'indirect';
    const peers = members.kRandomNodes(
      config.indirectChecks,
      (n) => n.name === members.localName || n.name === p.target.name || n.state !== 'alive',
    );
    for (const peer of peers) {
      const nack = (peer.vsn[1] ?? 0) >= 4;
      if (nack) p.expectedNacks += 1;
      const ind: IndirectPingReq = {
        seqNo: p.seqNo,
        target: p.target.addr,
        port: p.target.port,
        node: p.target.name,
        nack,
        sourceAddr: self.addr,
        sourcePort: self.port,
        sourceNode: self.name,
      };
      this.ctx.sendMsg({ addr: peer.addr, port: peer.port }, { type: 'indirectPing', body: ind });
    }
    if (!config.disableTcpPings && (p.target.vsn[1] ?? 0) >= 3) {
      p.tcp = 'pending';
      this.ctx.tcpPing({ addr: p.target.addr, port: p.target.port }, p.target.name, p.ping, p.deadline);
    }
  }

  #finish(p: ProbeInFlight, now: number): void {
    this.#probe = undefined;
    const { awareness, members } = this.ctx;
    if (p.tcp === 'ok') {
      awareness.applyDelta(-1);
      this.results.push({ node: p.target.name, ok: true, via: 'tcp', awarenessDelta: -1 });
      return;
    }
    let delta = 1;
    if (p.expectedNacks > 0) delta = Math.max(0, p.expectedNacks - p.nacks);
    awareness.applyDelta(delta);
    this.results.push({ node: p.target.name, ok: false, via: 'none', awarenessDelta: delta });
    members.suspectNode(
      { incarnation: p.target.incarnation, node: p.target.name, from: members.localName },
      now,
    );
  }
}
