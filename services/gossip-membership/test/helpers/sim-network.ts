// A seeded, in-memory network of membership engines: discrete-event simulation with UDP loss and
// delay, reliable (delayed) TCP streams, crashes, partitions, restarts and leaves. No sockets, no
// timers, no sleeps: simulated time jumps from one event to the next.
//
// Every message crosses the network through structuredClone, so what the engines exchange is
// plain data (no functions, no shared references), as the codec will need.

import { type Address, addressKey } from '../../src/protocol/address.js';
import { lanConfig, type ProtocolConfig } from '../../src/protocol/config.js';
import { Engine, type Ready } from '../../src/protocol/engine.js';
import type { MemberEvent } from '../../src/protocol/members.js';
import type { Message } from '../../src/protocol/messages.js';
import { createRng, type Rng } from '../../src/protocol/prng.js';

export interface SimOptions {
  seed: number;
  config?: ProtocolConfig;
  /** Probability that a UDP packet is lost (0..1). */
  loss?: number;
  /** One-way delay range, ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface LoggedEvent {
  time: number;
  observer: string;
  kind: MemberEvent['kind'];
  node: string;
  incarnation: number;
}

interface SimNode {
  name: string;
  address: Address;
  engine: Engine;
  up: boolean;
  wakeAt: number;
}

interface Scheduled {
  time: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap on (time, seq). */
class Agenda {
  #h: Scheduled[] = [];
  push(item: Scheduled): void {
    const h = this.#h;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (Agenda.less(h[p] as Scheduled, h[i] as Scheduled)) break;
      [h[p], h[i]] = [h[i] as Scheduled, h[p] as Scheduled];
      i = p;
    }
  }
  peek(): Scheduled | undefined {
    return this.#h[0];
  }
  pop(): Scheduled | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && Agenda.less(h[l] as Scheduled, h[m] as Scheduled)) m = l;
        if (r < h.length && Agenda.less(h[r] as Scheduled, h[m] as Scheduled)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i] as Scheduled, h[m] as Scheduled];
        i = m;
      }
    }
    return top;
  }
  static less(a: Scheduled, b: Scheduled): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

export class SimNetwork {
  now = 0;
  readonly config: ProtocolConfig;
  readonly events: LoggedEvent[] = [];
  /** UDP packets sent / lost. */
  stats = { packets: 0, lost: 0, streams: 0 };
  readonly #nodes = new Map<string, SimNode>();
  readonly #byAddress = new Map<string, SimNode>();
  readonly #agenda = new Agenda();
  readonly #rng: Rng;
  readonly #loss: number;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  /** Node names cut off from everyone (UDP and TCP), both directions. */
  readonly #isolated = new Set<string>();
  #seq = 0;
  #nextIp = 1;

  constructor(options: SimOptions) {
    this.#rng = createRng(options.seed);
    this.config = options.config ?? lanConfig();
    this.#loss = options.loss ?? 0;
    this.#minDelay = options.minDelayMs ?? 1;
    this.#maxDelay = options.maxDelayMs ?? 5;
  }

  /** Starts a node; with seeds it joins them (push/pull over the simulated TCP). */
  start(name: string, seeds: string[] = []): Engine {
    let node = this.#nodes.get(name);
    const address = node?.address ?? { addr: Uint8Array.of(10, 0, 0, this.#nextIp++), port: 7946 };
    const engine = new Engine({
      name,
      address,
      config: this.config,
      rng: createRng(this.#rng.nextU32()),
      now: this.now,
    });
    if (node === undefined) {
      node = { name, address, engine, up: true, wakeAt: this.now };
      this.#nodes.set(name, node);
      this.#byAddress.set(addressKey(address), node);
    } else {
      node.engine = engine;
      node.up = true;
      node.wakeAt = this.now;
    }
    this.#apply(node, engine.tick(this.now));
    if (seeds.length > 0) {
      const addrs = seeds.map((s) => this.node(s).address);
      this.#apply(node, engine.join(addrs, this.now));
    }
    return engine;
  }

  /** Stops a node without a word (memberlist Shutdown / a crash). */
  crash(name: string): void {
    this.node(name).up = false;
  }

  /** Graceful leave; the node keeps running (answers pings) until crash(). */
  leave(name: string): void {
    const node = this.node(name);
    this.#apply(node, node.engine.leave(this.now));
  }

  isolate(name: string): void {
    this.#isolated.add(name);
  }

  heal(name: string): void {
    this.#isolated.delete(name);
  }

  /** Delivers a message to a node as if `fromName` had sent it (fault injection). */
  inject(toName: string, fromName: string, messages: Message[]): void {
    const to = this.node(toName);
    this.#apply(to, to.engine.receive(this.node(fromName).address, structuredClone(messages), this.now));
  }

  node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  engine(name: string): Engine {
    return this.node(name).engine;
  }

  names(): string[] {
    return [...this.#nodes.keys()];
  }

  upNames(): string[] {
    return [...this.#nodes.values()].filter((n) => n.up).map((n) => n.name);
  }

  /** What `observer` believes about `target` (undefined if unknown). */
  stateOf(observer: string, target: string): string | undefined {
    return this.engine(observer).node(target)?.state;
  }

  /** Runs the simulation until `time` (inclusive). */
  runUntil(time: number): void {
    for (;;) {
      let wake: SimNode | undefined;
      for (const n of this.#nodes.values()) {
        if (n.up && (wake === undefined || n.wakeAt < wake.wakeAt)) wake = n;
      }
      const next = this.#agenda.peek();
      const wakeAt = wake?.wakeAt ?? Number.POSITIVE_INFINITY;
      const t = Math.min(wakeAt, next?.time ?? Number.POSITIVE_INFINITY);
      if (t > time) break;
      this.now = Math.max(this.now, t);
      if (next !== undefined && next.time <= wakeAt) {
        this.#agenda.pop();
        next.run();
      } else if (wake !== undefined) {
        this.#apply(wake, wake.engine.tick(this.now));
      }
    }
    this.now = time;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until `predicate` holds (checked after every step of `stepMs`) or `limit` ms pass. */
  runUntilTrue(predicate: () => boolean, limitMs: number, stepMs = 50): number | undefined {
    const end = this.now + limitMs;
    while (this.now < end) {
      if (predicate()) return this.now;
      this.runUntil(Math.min(end, this.now + stepMs));
    }
    return predicate() ? this.now : undefined;
  }

  // ---- internals -----------------------------------------------------------------------------

  #at(time: number, run: () => void): void {
    this.#agenda.push({ time, seq: this.#seq++, run });
  }

  #delay(): number {
    return this.#minDelay + this.#rng.next() * (this.#maxDelay - this.#minDelay);
  }

  #reachable(a: SimNode, b: SimNode): boolean {
    return !this.#isolated.has(a.name) && !this.#isolated.has(b.name);
  }

  #apply(node: SimNode, ready: Ready): void {
    const engine = node.engine;
    node.wakeAt = ready.nextDeadline;
    for (const e of ready.events) {
      this.events.push({
        time: this.now,
        observer: node.name,
        kind: e.kind,
        node: e.node.name,
        incarnation: e.node.incarnation,
      });
    }
    for (const p of ready.packets) {
      this.stats.packets += 1;
      if (this.#rng.next() < this.#loss) {
        this.stats.lost += 1;
        continue;
      }
      const payload = structuredClone(p.messages);
      const from = node.address;
      this.#at(this.now + this.#delay(), () => {
        const to = this.#byAddress.get(addressKey(p.to));
        if (to === undefined || !to.up || !this.#reachable(node, to)) return;
        this.#apply(to, to.engine.receive(from, payload, this.now));
      });
    }
    for (const s of ready.streams) {
      this.stats.streams += 1;
      const d = this.#delay();
      const alive = () => node.up && node.engine === engine;
      if (s.kind === 'pushPull') {
        const request = structuredClone(s.request);
        this.#at(this.now + d, () => {
          const to = this.#byAddress.get(addressKey(s.to));
          if (to === undefined || !to.up || !this.#reachable(node, to)) {
            this.#at(Math.max(this.now, s.deadline), () => {
              if (alive()) this.#apply(node, engine.pushPullResult(s.id, { error: 'unreachable' }, this.now));
            });
            return;
          }
          const { reply, ready: r } = to.engine.handlePushPull(node.address, request, this.now);
          this.#apply(to, r);
          const copy = structuredClone(reply);
          this.#at(this.now + d, () => {
            if (alive()) this.#apply(node, engine.pushPullResult(s.id, copy, this.now));
          });
        });
      } else {
        const ping = structuredClone(s.ping);
        this.#at(this.now + d, () => {
          const to = this.#byAddress.get(addressKey(s.to));
          const ok =
            to?.up === true && this.#reachable(node, to) && to.engine.handleStreamPing(ping) !== null;
          const when = ok ? this.now + d : s.deadline;
          this.#at(when, () => {
            if (alive()) this.#apply(node, engine.tcpPingResult(s.id, ok && when <= s.deadline, this.now));
          });
        });
      }
    }
  }
}
