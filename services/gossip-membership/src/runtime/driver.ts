// The runtime driver: the ONLY place with timers, sockets and the wall clock. It owns the protocol
// engine (pure; protocol/engine.ts), feeds it time (a monotonic clock, ms), decoded packets and stream
// results, and executes every output of its Ready:
//   packets  → encoded by the WireCodec, sent from the gossip UDP socket
//   streams  → a TCP exchange each (push/pull, fallback ping) bounded by the request's deadline,
//              answered with pushPullResult / tcpPingResult
//   events   → logs and metrics
//   nextDeadline → one timer; tick(now) when it fires
// Inbound UDP messages go through memberlist's handoff (protocol/inbound-queue.ts): probe traffic
// is handled at once, alive/suspect/dead/user messages wait in the queue, which is drained (alive
// first, newest first) once the datagrams the event loop read in this poll phase are all queued
// (setImmediate runs right after the poll phase). Messages beyond the queue's depth are dropped
// and counted (reason queue_full).
// Inbound TCP streams are answered by stream-server.ts.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { MemberInfo, MembershipView } from '../membership-view.js';
import type { DropReason, GossipMetrics } from '../metrics.js';
import { type Address, ipBytes, ipString } from '../protocol/address.js';
import type { ProtocolConfig } from '../protocol/config.js';
import { Engine, type Ready, type StreamRequest } from '../protocol/engine.js';
import { InboundQueue } from '../protocol/inbound-queue.js';
import type { MemberEvent, MemberView } from '../protocol/members.js';
import type { Message } from '../protocol/messages.js';
import { createRng } from '../protocol/prng.js';
import { bindGossipPort, type GossipPort } from '../transport/gossip-port.js';
import type { Endpoint, Stream } from '../transport/interface.js';
import { inboundStreamServer } from './stream-server.js';
import type { StreamFrame, WireCodec } from './wire.js';

export interface DriverOptions {
  name: string;
  bindAddr: string;
  /** 0 = any free port. */
  bindPort: number;
  /** Advertised IP (default: the bind address; must not be 0.0.0.0/::). */
  advertiseAddr?: string;
  /** Advertised port (default: the bound port). */
  advertisePort?: number;
  config: ProtocolConfig;
  codec: WireCodec;
  logger: Logger;
  meta?: Uint8Array | null;
  metrics?: GossipMetrics;
  /** Default bound of leave(), ms (memberlist Leave's timeout). */
  leaveTimeoutMs?: number;
  /** Seed of the engine's random source (default: random). */
  seed?: number;
  /** Application hooks (memberlist Delegate's LocalState/MergeRemoteState, and the member events). */
  delegate?: DriverDelegate;
}

/** What memberlist's Delegate and EventDelegate give an application, as far as we use them. */
interface DriverDelegate {
  /** User state sent in every push/pull (Delegate.LocalState). */
  localState(join: boolean): Uint8Array;
  /** A peer's user state, after its member states were merged (Delegate.MergeRemoteState). */
  mergeRemoteState(state: Uint8Array, join: boolean): void;
  /** The member events of one engine step, in order (EventDelegate). */
  notify(events: readonly MemberEvent[]): void;
}

const toEndpoint = (a: Address): Endpoint => ({ ip: ipString(a.addr), port: a.port });

/**
 * setTimeout delay (whole ms) for a deadline `at` seen at `now`, so that the timer fires at or just
 * after `at`, not before it. Node counts a timer from the event loop's cached time (whole ms, taken
 * when the loop iteration began, so up to a ms or more behind performance.now()), and a fractional
 * delay is finished by a second 1 ms timer. Passing `at − now` as it is therefore woke the process
 * twice per deadline: once a little early (the engine had nothing due and asked for the same
 * deadline again), once more ~1 ms later. ceil + 1 ms fires once, 0–2 ms late: negligible next to
 * the 100 ms gossip and 200 ms probe-timeout steps of the fastest (Local) profile, and it halves
 * the wake-ups of an idle node (bench/cluster.ts measures the CPU).
 */
const timerDelay = (at: number, now: number): number => Math.max(1, Math.ceil(at - now) + 1);

/** Monotonic ms for the engine; wall clock only to report state-change times. */
const monotonic = () => performance.now();
const wallOffset = () => Date.now() - performance.now();

export class Driver implements MembershipView {
  readonly engine: Engine;
  readonly port: GossipPort;
  readonly advertise: Endpoint;
  readonly #o: DriverOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #leaveWaiters: (() => void)[] = [];
  #leaveDone = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryWake: (() => void) | undefined;
  readonly #joinWaiters = new Map<number, (error: string | null) => void>();
  readonly #changeListeners = new Set<() => void>();
  readonly #inbound = new InboundQueue();
  #drainScheduled = false;

  private constructor(o: DriverOptions, port: GossipPort, advertise: Endpoint) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'gossip' });
    this.port = port;
    this.advertise = advertise;
    this.engine = new Engine({
      name: o.name,
      address: { addr: ipBytes(advertise.ip), port: advertise.port },
      config: { ...o.config, bindPort: port.port },
      rng: createRng(o.seed ?? Math.floor(Math.random() * 2 ** 31)),
      now: monotonic(),
      meta: o.meta ?? null,
      ...(o.codec.sizeOf ? { sizeOf: o.codec.sizeOf } : {}),
      packetOverhead: o.codec.packetOverhead ?? 0,
      ...(o.delegate
        ? { localUserState: (join: boolean) => o.delegate?.localState(join) ?? new Uint8Array(0) }
        : {}),
    });
    port.udp.onPacket((data, from) => this.#onPacket(data, from));
    port.udp.onSendError((err, to) =>
      this.#log.debug({ err: { message: err.message }, to }, 'udp send failed'),
    );
    const streams = inboundStreamServer({
      codec: o.codec,
      engine: this.engine,
      now: monotonic,
      closed: () => this.#closed,
      drop: (reason, detail, from) => this.#drop(reason, detail, from),
      apply: (ready) => this.#apply(ready),
      countIn: (type) => this.#o.metrics?.messages.inc({ direction: 'in', type }),
      countStream: (stream) => this.#countStream(stream),
      logger: this.#log,
    });
    port.tcp.onStream((stream) => void streams(stream));
    this.#apply(this.engine.tick(monotonic()));
  }

  /** Binds the gossip port (UDP and TCP) and starts the engine's loops. */
  static async start(o: DriverOptions): Promise<Driver> {
    const port = await bindGossipPort(o.bindAddr, o.bindPort);
    const ip = o.advertiseAddr ?? o.bindAddr;
    if (ip === '0.0.0.0' || ip === '::') {
      await port.close();
      throw new Error('an advertise address is required when binding 0.0.0.0 or ::');
    }
    return new Driver(o, port, { ip, port: o.advertisePort ?? port.port });
  }

  // ---- MembershipView ------------------------------------------------------------------------

  #info(m: MemberView): MemberInfo {
    return {
      name: m.name,
      ip: ipString(m.addr),
      port: m.port,
      state: m.state,
      incarnation: m.incarnation,
      meta: m.meta,
      stateChangeMs: Math.round(m.stateChange + wallOffset()),
    };
  }
  self(): MemberInfo {
    return this.#info(this.engine.localNode());
  }
  members(): MemberInfo[] {
    return this.engine.allNodes().map((m) => this.#info(m));
  }
  health(): number {
    return this.engine.healthScore;
  }

  /**
   * memberlist Leave: broadcast dead-about-self and wait until it has been sent transmitLimit
   * times, or `timeoutMs`. The node keeps answering pings until close().
   */
  leave(timeoutMs = this.#o.leaveTimeoutMs ?? 3000): Promise<void> {
    if (this.#leaveDone) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ timeoutMs }, 'leave not fully broadcast before the deadline');
        resolve();
      }, timeoutMs);
      this.#leaveWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#apply(this.engine.leave(monotonic()));
    });
  }

  /** Joins through the seeds (push/pull Join=true each). Resolves with the number that succeeded. */
  async join(seeds: readonly { host: string; port?: number | undefined }[]): Promise<number> {
    const addrs: Address[] = [];
    for (const s of seeds) {
      try {
        const ip = isIP(s.host) ? s.host : (await lookup(s.host)).address;
        addrs.push({ addr: ipBytes(ip), port: s.port ?? this.port.port });
      } catch (err) {
        this.#log.warn({ seed: s.host, err: { message: (err as Error).message } }, 'cannot resolve seed');
      }
    }
    if (addrs.length === 0) return 0;
    const ready = this.engine.join(addrs, monotonic());
    const ids = ready.streams.filter((r) => r.kind === 'pushPull').map((r) => r.id);
    const results = ids.map((id) => new Promise<string | null>((r) => this.#joinWaiters.set(id, r)));
    this.#apply(ready);
    const errors = await Promise.all(results);
    const ok = errors.filter((e) => e === null).length;
    for (const e of errors) if (e !== null) this.#log.warn({ error: e }, 'join through a seed failed');
    return ok;
  }

  /**
   * join(), repeated every `retryMs` while no seed answered (seeds that boot after us), until one
   * does or the driver closes or leaves. `onFailure` sees each failed attempt.
   */
  async joinWithRetry(
    seeds: readonly { host: string; port?: number | undefined }[],
    retryMs: number,
    onFailure: (attempt: number) => void = () => {},
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const joined = await this.join(seeds);
      if (joined > 0 || this.#closed || this.engine.leaving) return joined;
      onFailure(attempt);
      await new Promise<void>((resolve) => {
        this.#retryWake = resolve;
        this.#retryTimer = setTimeout(resolve, retryMs);
      });
      if (this.#closed) return 0;
    }
  }

  /** Gossips new meta (an alive with a higher incarnation). */
  updateMeta(meta: Uint8Array): void {
    if (this.#closed) return;
    this.#apply(this.engine.updateMeta(meta, monotonic()));
  }

  /**
   * Membership change notifications (the dashboard's MemberEvents): `listener` runs after every
   * engine output that carried member events (join, update, alive, suspect, dead, left, conflict).
   * Returns the unsubscribe function.
   */
  on(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Stops timers and closes the sockets; sends nothing (memberlist Shutdown). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    this.#retryWake?.();
    for (const settle of this.#joinWaiters.values()) settle('node closed');
    this.#joinWaiters.clear();
    await this.port.close();
  }

  // ---- engine outputs ------------------------------------------------------------------------

  #apply(ready: Ready): void {
    if (this.#closed) return;
    const metrics = this.#o.metrics;
    for (const p of ready.packets) {
      let encoded: Uint8Array[];
      try {
        encoded = this.#o.codec.encodePacket(p.messages, p.crc);
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'cannot encode packet');
        continue;
      }
      const to = toEndpoint(p.to);
      for (const bytes of encoded) {
        this.port.udp.send(to, bytes);
        metrics?.bytes.inc({ direction: 'out', transport: 'udp' }, bytes.length);
      }
      for (const m of p.messages) metrics?.messages.inc({ direction: 'out', type: m.type });
    }
    for (const s of ready.streams) void this.#runStream(s);
    for (const e of ready.events) {
      if (e.kind === 'suspect') metrics?.suspicions.inc();
      if (e.kind === 'conflict')
        this.#log.warn(
          { node: e.node.name, other: `${ipString(e.other.addr)}:${e.other.port}` },
          'conflicting address',
        );
      else
        this.#log.info(
          { event: e.kind, node: e.node.name, incarnation: e.node.incarnation, ip: ipString(e.node.addr) },
          `member ${e.kind}`,
        );
    }
    const delegate = this.#o.delegate;
    if (delegate !== undefined) {
      try {
        if (ready.events.length > 0) delegate.notify(ready.events);
        for (const u of ready.remoteUserStates) delegate.mergeRemoteState(u.userState, u.join);
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'delegate failed');
      }
    }
    for (const p of ready.probes)
      metrics?.probes.inc({ result: p.ok ? (p.via === 'tcp' ? 'tcp' : 'ack') : 'failed' });
    if (ready.events.length > 0)
      for (const l of this.#changeListeners) {
        try {
          l();
        } catch (err) {
          this.#log.error({ err: { message: (err as Error).message } }, 'member change listener failed');
        }
      }
    if (ready.leaveComplete) {
      this.#leaveDone = true;
      for (const w of this.#leaveWaiters.splice(0)) w();
    }
    this.#arm(ready.nextDeadline);
  }

  #arm(at: number): void {
    if (this.#closed || at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    if (!Number.isFinite(at)) return;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#apply(this.engine.tick(monotonic()));
      },
      timerDelay(at, monotonic()),
    );
  }

  #drop(reason: DropReason, detail: string, from: Endpoint): void {
    this.#o.metrics?.dropped.inc({ reason });
    this.#log.debug({ reason, detail, from }, 'dropped inbound data');
  }

  #onPacket(data: Uint8Array, from: Endpoint): void {
    if (this.#closed) return;
    this.#o.metrics?.bytes.inc({ direction: 'in', transport: 'udp' }, data.length);
    let decoded: ReturnType<WireCodec['decodePacket']>;
    try {
      decoded = this.#o.codec.decodePacket(data);
    } catch (err) {
      decoded = { ok: false, reason: 'decode', detail: (err as Error).message };
    }
    if (!decoded.ok) {
      this.#drop(decoded.reason, decoded.detail, from);
      return;
    }
    for (const d of decoded.dropped ?? []) this.#drop(d.reason, d.detail, from);
    if (decoded.messages.length === 0) return;
    const addr: Address = { addr: ipBytes(from.ip), port: from.port };
    const sender = { addr, from };
    const inline: Message[] = [];
    for (const m of decoded.messages) {
      this.#o.metrics?.messages.inc({ direction: 'in', type: m.type });
      const where = this.#inbound.push(m, sender);
      if (where === 'inline') inline.push(m);
      else if (where === 'dropped') this.#drop('queue_full', `${m.type}: handler queue full`, from);
    }
    if (inline.length > 0) this.#receive(addr, from, inline);
    if (this.#inbound.length > 0 && !this.#drainScheduled) {
      this.#drainScheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  /** Handles the queued messages, alive first (memberlist packetHandler). */
  #drain(): void {
    this.#drainScheduled = false;
    for (let q = this.#inbound.next(); q !== undefined && !this.#closed; q = this.#inbound.next()) {
      const sender = q.from as { addr: Address; from: Endpoint };
      this.#receive(sender.addr, sender.from, [q.message]);
    }
  }

  #receive(addr: Address, from: Endpoint, messages: Message[]): void {
    let ready: Ready;
    try {
      ready = this.engine.receive(addr, messages, monotonic());
    } catch (err) {
      this.#drop('handler', (err as Error).message, from);
      return;
    }
    this.#apply(ready);
  }

  // ---- streams -------------------------------------------------------------------------------

  #countStream(s: Stream): void {
    this.#o.metrics?.bytes.inc({ direction: 'in', transport: 'tcp' }, s.bytesIn);
    this.#o.metrics?.bytes.inc({ direction: 'out', transport: 'tcp' }, s.bytesOut);
  }

  async #exchange(to: Endpoint, frame: Uint8Array, deadline: number): Promise<StreamFrame> {
    const left = () => Math.max(1, Math.round(deadline - monotonic()));
    const stream = await this.port.tcp.dial(to, left());
    try {
      await stream.write(frame);
      const codec = this.#o.codec;
      return await stream.readFrame(codec.parseReply ?? codec.parseStream, left());
    } finally {
      this.#countStream(stream);
      stream.close();
    }
  }

  async #runStream(r: StreamRequest): Promise<void> {
    const to = toEndpoint(r.to);
    if (r.kind === 'pushPull') {
      let result: Parameters<Engine['pushPullResult']>[1];
      try {
        const reply = await this.#exchange(
          to,
          this.#o.codec.encodeStream({ type: 'pushPull', value: r.request }),
          r.deadline,
        );
        result =
          reply.type === 'pushPull'
            ? reply.value
            : {
                error:
                  reply.type === 'err'
                    ? `remote error: ${reply.value.error}`
                    : `unexpected ${reply.type} reply`,
              };
      } catch (err) {
        result = { error: (err as Error).message };
      }
      if (this.#closed) return;
      const outcome = this.engine.pushPullResult(r.id, result, monotonic());
      const error = outcome.error ?? ('error' in result ? result.error : null);
      if (error && !this.#joinWaiters.has(r.id)) this.#log.debug({ to, error }, 'push/pull failed');
      this.#joinWaiters.get(r.id)?.(error);
      this.#joinWaiters.delete(r.id);
      this.#apply(outcome);
      return;
    }
    let didContact = false;
    try {
      const reply = await this.#exchange(
        to,
        this.#o.codec.encodeStream({ type: 'ping', value: r.ping }),
        r.deadline,
      );
      // memberlist sendPingAndWaitForAck: an ack with another SeqNo is an error.
      didContact = reply.type === 'ackResp' && reply.value.seqNo === r.ping.seqNo;
    } catch {
      didContact = false;
    }
    if (this.#closed) return;
    this.#apply(this.engine.tcpPingResult(r.id, didContact, monotonic()));
  }
}
