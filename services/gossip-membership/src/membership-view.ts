// What the HTTP API needs from the running membership node: a read-only view of the member list and
// the two actions an operator can take. The runtime driver implements it over the protocol engine;
// tests implement it with plain objects.
import type { MemberState } from '@edgefleet/contracts';

export type { MemberState };

export interface MemberInfo {
  name: string;
  /** Advertised IP as text (IPv4 dotted quad even when the wire carried 16 bytes). */
  ip: string;
  port: number;
  state: MemberState;
  incarnation: number;
  /** Raw meta bytes as gossiped (null when the node sent none). */
  meta: Uint8Array | null;
  /** Wall-clock time of the last state change, ms since the epoch (for a departed node: when it was declared). */
  stateChangeMs: number;
  /** Dead or left and already reaped from the member table: shown from the departed record. */
  gone?: boolean;
  /** Who declared it dead (or itself, for a leave), when known. */
  declaredBy?: string;
}

export interface MembershipView {
  /** This node (always alive from its own point of view, left once it has left). */
  self(): MemberInfo;
  /** Every node known, self included, in every state not yet reaped. */
  members(): MemberInfo[];
  /** Lifeguard local health score: 0 = healthy, up to awarenessMaxMultiplier − 1. */
  health(): number;
  /** Leaves the cluster gracefully: broadcasts dead-about-self and waits (bounded) for it to spread. */
  leave(): Promise<void>;
}
