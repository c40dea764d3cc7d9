// The protocol settings a node runs with: the timing profile (memberlist's LAN/WAN/Local presets,
// protocol/config.ts) with the operator's overrides applied: the protocol and delegate versions it
// advertises (memberlist Config.ProtocolVersion, DelegateProtocolMin/Max/Version) and whether it
// reconnects to dead nodes (protocol/reconnect.ts; off = memberlist's behaviour). Pure.
import { type ProfileName, type ProtocolConfig, profileConfig } from './protocol/config.js';

export interface ProtocolSettings {
  profile: ProfileName;
  protocolVersion: number;
  delegateProtocolMin: number;
  delegateProtocolMax: number;
  delegateProtocolVersion: number;
  /** Reconnect to dead nodes (Serf's way of healing a long partition); false = memberlist. */
  reconnect: boolean;
}

export function protocolSettings(s: ProtocolSettings): ProtocolConfig {
  const base = profileConfig(s.profile);
  return {
    ...base,
    protocolVersion: s.protocolVersion,
    delegateProtocolMin: s.delegateProtocolMin,
    delegateProtocolMax: s.delegateProtocolMax,
    delegateProtocolVersion: s.delegateProtocolVersion,
    reconnectIntervalMs: s.reconnect ? base.reconnectIntervalMs : 0,
  };
}
