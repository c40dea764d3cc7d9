// Reconnecting to dead nodes: what Serf's reconnect loop adds on top of memberlist, so that a
// partition outlasting gossipToTheDeadTime heals by itself.
//
// Why memberlist alone stays split: once a node has been dead longer than gossipToTheDeadTime we
// stop gossiping to it and reap it from the member table, probes and push/pull only go to alive
// nodes, and the other side does the same with us. Nobody ever contacts the other side again.
//
// The loop (every reconnectIntervalMs, armed only while the dead list is not empty):
//   dead list  every node we saw become Dead (a `dead` event, never `left`: a node that left
//              gracefully is not reconnected), with its address and the time it died. It SURVIVES
//              the reap, because the reaped nodes are exactly the ones to reconnect. A node leaves
//              the list when it is alive or suspect again in our table, when it leaves, or
//              reconnectTimeoutMs after its death.
//   attempt    with probability p = min(1, dead / alive) (alive: alive or suspect nodes in our table,
//              self included; Serf's formula), one Join = false push/pull with ONE random dead
//              node. Summed over the cluster that is ≈ one attempt per dead node per interval,
//              whatever the cluster size, so a crashed node is not dialled by every member.
//   comeback   when a node of the dead list comes back to life, the next attempt (at the other
//              dead nodes) is pulled in to one probe period later and is not thinned by p: the
//              network has most likely healed (see observe).
//
// After a successful exchange with a node X that was dead to us:
//   - X merged our state: it saw itself dead there and refuted (incarnation + 1);
//   - we merged X's state (taken BEFORE X merged ours): if X held us dead we refuted too.
// But both sides still hold the other dead at the OLD incarnation (an alive at the same
// incarnation is ignored, memberlist aliveNode), and a refutation travels only by gossip, which
// skips long-dead nodes. So when the reply shows that X holds us dead/suspect at our current
// incarnation, or X is still not alive in our table, ONE follow-up push/pull with X is sent a probe
// timeout later (probeTimeoutMs: the config's bound on a round trip, ample for X to finish the
// merge it does right after replying — memberlist's handleConn replies, then merges). It carries our
// refuted incarnation to X and brings X's back. From there ordinary gossip spreads both
// refutations to each side, and the merge rules do the rest: where one side holds a third node
// dead and the other alive at the same incarnation, the Dead → suspect rule of the merge makes the
// third node refute, so nodes that never reconnect themselves (Go memberlist) come back too.
//
// Once a reconnect has brought nodes back, we also push/pull with a few nodes of each half
// (#fanOut), since gossip alone loses part of such a burst of news in small clusters.
//
// No new message types: the reconnect, its follow-up and the fan-out are ordinary push/pull streams.

import type { Address } from './address.js';
import type { ProtocolConfig } from './config.js';
import type { MemberEvent, MemberTable } from './members.js';
import { NodeStateCode, type PushPull } from './messages.js';
import type { Rng } from './prng.js';

export interface ReconnectContext {
  config: ProtocolConfig;
  rng: Rng;
  members: MemberTable;
  /** Starts a Join = false push/pull with `node` at `to`; returns the request id. */
  exchange: (to: Address, node: string, now: number) => number;
}

interface DeadNode {
  to: Address;
  /** When it became dead in our view, ms (its stateChange). */
  diedAt: number;
}

interface FollowUp {
  at: number;
  node: string;
  to: Address;
  joined: string[];
}

interface InFlight {
  node: string;
  to: Address;
  followUp: boolean;
  /** Nodes that came back (join events) in the merges of this reconnect so far. */
  joined: string[];
  /** Our incarnation when the request left (what the remote saw of us). */
  incarnation: number;
}

export class Reconnector {
  readonly #dead = new Map<string, DeadNode>();
  readonly #inFlight = new Map<number, InFlight>();
  readonly #followUps: FollowUp[] = [];
  #nextAt = Number.POSITIVE_INFINITY;
  /** The next attempt follows a comeback: not thinned by p (see observe). */
  #eager = false;
  /** Reconnect exchanges (first attempts and follow-ups) sent so far. */
  attempts = 0;
  /** Fan-out push/pulls after a reconnect that brought nodes back (#fanOut). */
  fanOuts = 0;

  constructor(private readonly ctx: ReconnectContext) {}

  /** Nodes currently in the dead list (reconnect candidates until they time out), by name. */
  get candidates(): string[] {
    return [...this.#dead.keys()].sort();
  }

  nextDeadline(): number {
    const f = this.#followUps[0];
    return f === undefined ? this.#nextAt : Math.min(this.#nextAt, f.at);
  }

  /** Every membership event of the engine passes through here. */
  observe(event: MemberEvent): void {
    const { interval } = this.#settings();
    if (interval <= 0) return;
    const n = event.node;
    if (n.name === this.ctx.members.localName) return;
    if (event.kind === 'dead') {
      this.#dead.set(n.name, { to: { addr: n.addr, port: n.port }, diedAt: n.stateChange });
      // Armed on the first death, at a random phase so that the nodes of one side of a partition
      // (which all learn the deaths within a second) do not dial in step.
      if (this.#nextAt === Number.POSITIVE_INFINITY)
        this.#nextAt = n.stateChange + this.ctx.rng.int(interval);
    } else if (event.kind === 'left') {
      this.#dead.delete(n.name);
    } else if ((n.state === 'alive' || n.state === 'suspect') && this.#dead.delete(n.name)) {
      // A dead node came back: most likely the network healed, and the other dead nodes are
      // reachable again too. Serf's p = dead / alive assumes every node holds the same dead set;
      // right after a heal the views differ (a node that missed the news still holds X dead while
      // the others already hold it alive, so its p is small and it would wait several periods).
      // So the next attempt comes one probe period after a comeback instead of up to a whole
      // reconnect period later, and it is not thinned by p. At most one extra attempt per node
      // per comeback burst (a restarted node coming back costs each node one dial).
      if (this.#dead.size > 0) {
        this.#eager = true;
        this.#nextAt = Math.min(this.#nextAt, n.stateChange + this.ctx.config.probeIntervalMs);
      }
    }
  }

  tick(now: number): void {
    const { members } = this.ctx;
    while (this.#followUps.length > 0 && (this.#followUps[0] as { at: number }).at <= now) {
      const f = this.#followUps.shift() as FollowUp;
      if (!members.leaving) this.#send(f.to, f.node, true, now, f.joined);
    }
    const { interval, timeout } = this.#settings();
    if (now < this.#nextAt) return;
    if (interval <= 0) {
      this.#nextAt = Number.POSITIVE_INFINITY;
      return;
    }
    this.#nextAt = now + interval;
    const eager = this.#eager;
    this.#eager = false;
    const busy = new Set<string>();
    for (const f of this.#inFlight.values()) busy.add(f.node);
    const eligible: [string, DeadNode][] = [];
    for (const [name, d] of this.#dead) {
      if (now - d.diedAt > timeout) {
        this.#dead.delete(name);
        continue;
      }
      const current = members.get(name)?.state;
      if (current === 'alive' || current === 'suspect' || current === 'left') {
        this.#dead.delete(name);
        continue;
      }
      if (!busy.has(name)) eligible.push([name, d]);
    }
    if (this.#dead.size === 0) {
      this.#nextAt = Number.POSITIVE_INFINITY; // re-armed by the next death
      return;
    }
    if (eligible.length === 0 || members.leaving) return;
    let alive = 0;
    for (const n of members.nodes) if (n.state === 'alive' || n.state === 'suspect') alive++;
    const p = eligible.length / Math.max(1, alive);
    if (p < 1 && !eager && this.ctx.rng.next() >= p) return;
    const [name, d] = eligible[this.ctx.rng.int(eligible.length)] as [string, DeadNode];
    this.#send(d.to, name, false, now, []);
  }

  /**
   * A push/pull finished (`reply` undefined when it failed; `joined`: names of the nodes that came
   * back alive in its merge). Ignores ids that are not ours. After a successful first attempt,
   * schedules the follow-up when one side still holds the other dead; once the reconnect is
   * complete and it brought nodes back, fans the news out (see #fanOut).
   */
  onResult(id: number, reply: PushPull | undefined, joined: readonly string[], now: number): void {
    const f = this.#inFlight.get(id);
    if (f === undefined) return;
    this.#inFlight.delete(id);
    const total = reply === undefined ? f.joined : [...f.joined, ...joined];
    if (f.followUp || reply === undefined) {
      if (total.length > 0) this.#fanOut(f.node, total, now);
      return;
    }
    const { members } = this.ctx;
    // Every node lists itself in its state: a reply without f.node came from another node that
    // now has that address. Dialling it again would only pester that node, so stop.
    if (!reply.states.some((s) => s.name === f.node)) {
      this.#dead.delete(f.node);
      if (total.length > 0) this.#fanOut(f.node, total, now);
      return;
    }
    const us = reply.states.find((s) => s.name === members.localName);
    const holdsUsDown =
      us !== undefined && us.state !== NodeStateCode.alive && us.incarnation >= f.incarnation;
    const state = members.get(f.node)?.state;
    const weHoldItDown = state !== undefined && state !== 'alive' && state !== 'suspect';
    if (holdsUsDown || weHoldItDown) {
      const at = now + this.ctx.config.probeTimeoutMs;
      this.#followUps.push({ at, node: f.node, to: f.to, joined: total });
      this.#followUps.sort((a, b) => a.at - b.at);
    } else if (total.length > 0) this.#fanOut(f.node, total, now);
  }

  /**
   * A reconnect that brought nodes back is usually the moment a partition heals: we now hold both
   * halves, and each half still misses the other. Gossip carries that news as one alive message
   * per node, each sent retransmitMult × ceil(log10(n + 1)) times in all (2 with Local timings
   * and n ≤ 9): fine for one event, but a whole half arriving at once dies out before reaching
   * every node, and the nodes that do not reconnect themselves (Go memberlist) then wait for
   * their next push/pull. So we also push/pull our full state right away with up to gossipNodes
   * random nodes of EACH half: of the nodes that came back in this reconnect (the other half;
   * the one we reconnected to excepted) and of the nodes that were alive already (our half).
   * They get every node in one exchange, become gossip sources for it themselves, and where a
   * node is still held dead at its current incarnation, the merge makes it refute.
   * Cost: ≤ 2 × gossipNodes exchanges per successful reconnect that brought nodes back, which
   * only happens while the dead list is not empty. After a heal, the first such reconnect usually
   * clears the other nodes' dead lists (by this fan-out and gossip) before their own attempt comes
   * round, so a heal costs a handful of fan-outs, not one per node.
   */
  #fanOut(except: string, joined: readonly string[], now: number): void {
    const { members, config, rng } = this.ctx;
    if (members.leaving || config.gossipNodes <= 0) return;
    const back = new Set(joined);
    // Suspect nodes too: a merge with the other half often leaves some of ours suspect (the other
    // half held them dead), and the exchange is what lets them refute at once.
    const up = (state: string | undefined) => state === 'alive' || state === 'suspect';
    const returned = [...back].filter((name) => name !== except && up(members.get(name)?.state));
    const peers: { name: string; addr: Uint8Array; port: number }[] = [];
    for (let i = 0; i < config.gossipNodes && returned.length > 0; i++) {
      const [name] = returned.splice(rng.int(returned.length), 1) as [string];
      peers.push(members.get(name) as { name: string; addr: Uint8Array; port: number });
    }
    peers.push(
      ...members.kRandomNodes(
        config.gossipNodes,
        (n) => n.name === members.localName || n.name === except || !up(n.state) || back.has(n.name),
      ),
    );
    for (const p of peers) {
      this.ctx.exchange({ addr: p.addr, port: p.port }, p.name, now);
      this.fanOuts++;
    }
  }

  #settings(): { interval: number; timeout: number } {
    const c = this.ctx.config;
    return { interval: c.reconnectIntervalMs, timeout: c.reconnectTimeoutMs };
  }

  #send(to: Address, node: string, followUp: boolean, now: number, joined: string[]): void {
    const incarnation = this.ctx.members.incarnation;
    const id = this.ctx.exchange(to, node, now);
    this.#inFlight.set(id, { node, to, followUp, incarnation, joined });
    this.attempts++;
  }
}
