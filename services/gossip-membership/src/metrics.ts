// Prometheus metrics of the membership node, registered on the service's registry (/metrics). The
// driver increments the counters; the member gauge is computed from the view at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MemberState, MembershipView } from './membership-view.js';

/** Why an inbound packet or stream was dropped (the `reason` label). */
export type DropReason =
  | 'decode' // not a valid memberlist message (garbage, bad msgpack, unknown or misplaced type)
  | 'truncated' // shorter than it announces (msgpack cut short, compound parts missing)
  | 'crc' // hasCrc wrapper whose CRC32 does not match
  | 'label' // label header missing, unexpected or different
  | 'decrypt' // encrypted with a key we do not have, or plaintext where encryption is required
  | 'decompress' // compress wrapper that does not inflate
  | 'too_large' // over a protocol limit
  | 'stream' // TCP stream that failed or timed out before a whole frame
  | 'handler' // valid message the engine refused
  | 'queue_full'; // alive/suspect/dead/user message beyond the inbound queue's 1024 (memberlist handoff)

export interface GossipMetrics {
  probes: Counter<'result'>;
  suspicions: Counter<string>;
  messages: Counter<'direction' | 'type'>;
  bytes: Counter<'direction' | 'transport'>;
  dropped: Counter<'reason'>;
}

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left'];

export function createGossipMetrics(
  registry: Registry,
  view: () => MembershipView | undefined,
): GossipMetrics {
  new Gauge({
    name: 'gossip_members',
    help: 'Known members by state (self included)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map<MemberState, number>(STATES.map((s) => [s, 0]));
      for (const m of view()?.members() ?? []) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'gossip_health_score',
    help: 'Lifeguard local health score (0 = healthy)',
    registers: [registry],
    collect() {
      this.set(view()?.health() ?? 0);
    },
  });
  return {
    probes: new Counter({
      name: 'gossip_probes_total',
      help: 'Probes of other members by outcome (ack, indirect_ack, tcp, failed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    suspicions: new Counter({
      name: 'gossip_suspicions_total',
      help: 'Members this node started to suspect',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'gossip_messages_total',
      help: 'Protocol messages by direction (in, out) and type',
      labelNames: ['direction', 'type'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'gossip_bytes_total',
      help: 'Bytes on the gossip port by direction (in, out) and transport (udp, tcp)',
      labelNames: ['direction', 'transport'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'gossip_dropped_packets_total',
      help: 'Inbound packets and streams dropped, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
