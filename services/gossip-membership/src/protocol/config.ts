// Timing and sizing presets of the membership protocol: memberlist's DefaultLANConfig,
// DefaultWANConfig and DefaultLocalConfig (`config.go`, docs/wire.md §17), with every duration in
// MILLISECONDS. The values are identical in memberlist 0.2.2 and the newest releases.
//
// Only the fields the pure engine uses live here; socket-level settings (bind address, keyring,
// label, DNS) belong to the transport/driver configuration. Formulas that derive a value from a
// field and the cluster size n (n = estNumNodes, self and unreaped dead nodes included) are in
// math.ts and named in each comment below.

/** Lowest / highest protocol version this implementation understands (memberlist 0.2.2: 1 / 5). */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 5;
/** The version we speak: memberlist's ProtocolVersion2Compatible (ports are honoured, docs/wire.md §10). */
export const PROTOCOL_VERSION_DEFAULT = 2;

export interface ProtocolConfig {
  /** Protocol version we speak (Config.ProtocolVersion), 1..5. Advertised as Vsn[2]. */
  protocolVersion: number;
  /** Delegate protocol min/max/current (Vsn[3..5]); memberlist leaves them 0/0/0. */
  delegateProtocolMin: number;
  delegateProtocolMax: number;
  delegateProtocolVersion: number;
  /** Deadline of a whole TCP exchange (push/pull, stream user message), ms. */
  tcpTimeoutMs: number;
  /** Nodes asked to ping a target indirectly after a missed direct ack (IndirectChecks). */
  indirectChecks: number;
  /** Gossip transmit limit = retransmitMult × ceil(log10(n + 1))  (math.retransmitLimit). */
  retransmitMult: number;
  /**
   * Suspicion minimum = suspicionMult × max(1, log10(max(1, n))) × probeIntervalMs (math.suspicionTimeout);
   * also k = suspicionMult − 2 confirmations are wanted (0 when n − 2 < k).
   */
  suspicionMult: number;
  /** Suspicion maximum = suspicionMaxTimeoutMult × suspicion minimum. */
  suspicionMaxTimeoutMult: number;
  /** Base period of full-state push/pull, ms; scaled by math.pushPullScale(n). 0 disables it. */
  pushPullIntervalMs: number;
  /** Wait for a direct ack before indirect probes start, ms (not scaled by awareness). */
  probeTimeoutMs: number;
  /** Period of the probe loop, ms; one probe lasts up to probeIntervalMs × (healthScore + 1). */
  probeIntervalMs: number;
  /** Never send TCP fallback pings (they go to targets with PMax ≥ 3 otherwise). */
  disableTcpPings: boolean;
  /** Lifeguard health score runs 0 .. awarenessMaxMultiplier − 1 (awareness.ts). */
  awarenessMaxMultiplier: number;
  /** Random peers that each gossip round sends queued broadcasts to. 0 disables gossip. */
  gossipNodes: number;
  /** Period of the gossip loop, ms. 0 disables gossip. */
  gossipIntervalMs: number;
  /** Dead nodes are still gossiped to for this long, and dead/left nodes are reaped after it, ms. */
  gossipToTheDeadTimeMs: number;
  /** A Dead node older than this may come back at a new address, ms; 0 (memberlist default) = never. */
  deadNodeReclaimTimeMs: number;
  /** Whether to compress outgoing packets/streams (memberlist EnableCompression; driver's concern). */
  enableCompression: boolean;
  /** Largest UDP payload we build, bytes (piggyback and gossip budget). */
  udpBufferSize: number;
  /** Depth of each inbound handler queue (memberlist HandoffQueueDepth); driver's concern. */
  handoffQueueDepth: number;
  /** Port assumed for a peer whose alive/indirect ping carries port 0 (memberlist BindPort). */
  bindPort: number;
  /**
   * Turns off Lifeguard's refutation "buddy system": a probe of a Suspect node normally carries
   * the suspect message with the ping (compound, so the target can refute at once). Absent/false =
   * memberlist behaviour. Only for experiments (the simulator's Lifeguard-off runs); memberlist
   * has no such switch. The other Lifeguard parts are switched off with existing fields:
   * awarenessMaxMultiplier = 1 (no local health scaling, nacks then change nothing) and
   * suspicionMaxTimeoutMult = 1 (fixed suspicion timeout, no confirmation acceleration).
   */
  disableRefutationBuddy?: boolean;
  /**
   * Period of the reconnect loop, ms (reconnect.ts; Serf's ReconnectInterval, memberlist has no
   * such loop). While nodes are Dead in our view (never Left ones), each period we push/pull with
   * ONE random dead node with probability min(1, deadNodes / aliveNodes) (self counted alive), so
   * the whole cluster makes about one attempt per dead node per period. This is what heals a
   * partition that outlasted gossipToTheDeadTime. 0 disables reconnecting (memberlist behaviour).
   * Presets: the preset's pushPullIntervalMs (not scaled by cluster size: the probability already
   * bounds the cluster-wide load to ~1 exchange per dead node per period).
   */
  reconnectIntervalMs: number;
  /** A dead node is reconnected to until it has been dead this long, ms (Serf ReconnectTimeout: 24 h). */
  reconnectTimeoutMs: number;
}

/** Serf's default ReconnectTimeout, 24 h in ms: how long a dead node is retried. */
const RECONNECT_TIMEOUT_MS = 24 * 60 * 60 * 1_000;

/** memberlist DefaultLANConfig (docs/wire.md §17): the edgefleet default profile `lan`. */
export function lanConfig(): ProtocolConfig {
  return {
    protocolVersion: PROTOCOL_VERSION_DEFAULT,
    delegateProtocolMin: 0,
    delegateProtocolMax: 0,
    delegateProtocolVersion: 0,
    tcpTimeoutMs: 10_000, // 10 s
    indirectChecks: 3,
    retransmitMult: 4, // 4 for n ≤ 9, 8 for n = 10–99, 12 for n = 100–999
    suspicionMult: 4, // min 4 s / max 24 s for n ≤ 10 (1 s probe interval)
    suspicionMaxTimeoutMult: 6,
    pushPullIntervalMs: 30_000, // 30 s up to 32 nodes, 60 s up to 64, …
    probeTimeoutMs: 500,
    probeIntervalMs: 1_000,
    disableTcpPings: false,
    awarenessMaxMultiplier: 8, // the probe interval backs off to 8 s at most
    gossipNodes: 3,
    gossipIntervalMs: 200,
    gossipToTheDeadTimeMs: 30_000,
    deadNodeReclaimTimeMs: 0,
    enableCompression: true,
    udpBufferSize: 1_400,
    handoffQueueDepth: 1_024,
    bindPort: 7_946,
    reconnectIntervalMs: 30_000, // = pushPullIntervalMs
    reconnectTimeoutMs: RECONNECT_TIMEOUT_MS,
  };
}

/** memberlist DefaultWANConfig: LAN with slower probes and longer suspicion. */
export function wanConfig(): ProtocolConfig {
  return {
    ...lanConfig(),
    tcpTimeoutMs: 30_000,
    suspicionMult: 6, // min 30 s for n ≤ 10 (5 s probe interval)
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3_000,
    probeIntervalMs: 5_000,
    gossipNodes: 4,
    gossipIntervalMs: 500,
    gossipToTheDeadTimeMs: 60_000,
    reconnectIntervalMs: 60_000, // = pushPullIntervalMs
  };
}

/** memberlist DefaultLocalConfig: loopback timings (the legacy `cluster` program, profile `local`). */
export function localConfig(): ProtocolConfig {
  return {
    ...lanConfig(),
    tcpTimeoutMs: 1_000,
    indirectChecks: 1,
    retransmitMult: 2, // 2 for n ≤ 9, 4 for n = 10–99
    suspicionMult: 3, // min 3 s / max 18 s for n ≤ 10
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    probeIntervalMs: 1_000,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 15_000,
    reconnectIntervalMs: 15_000, // = pushPullIntervalMs
  };
}

export type ProfileName = 'lan' | 'wan' | 'local';

/** The preset for a profile name (edgefleet's `--profile`; `lan` is our default). */
export function profileConfig(profile: ProfileName = 'lan'): ProtocolConfig {
  switch (profile) {
    case 'lan':
      return lanConfig();
    case 'wan':
      return wanConfig();
    case 'local':
      return localConfig();
  }
}

/**
 * The 6-byte Vsn a node advertises: [PMin, PMax, PCur, DMin, DMax, DCur] (memberlist
 * BuildVsnArray). With defaults this is [1, 5, 2, 0, 0, 0], exactly what memberlist 0.2.2 sends;
 * 0.2.2 panics on a shorter non-empty Vsn, so it is always 6 bytes.
 */
export function buildVsn(config: ProtocolConfig): Uint8Array {
  return Uint8Array.of(
    PROTOCOL_VERSION_MIN,
    PROTOCOL_VERSION_MAX,
    config.protocolVersion,
    config.delegateProtocolMin,
    config.delegateProtocolMax,
    config.delegateProtocolVersion,
  );
}
