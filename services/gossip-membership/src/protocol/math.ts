// Pure formulas of the protocol (memberlist `util.go`, `suspicion.go`, `awareness.go`), in ms.
// `n` is always estNumNodes: the length of the local node list, self and unreaped dead nodes
// included. Table tests in test/protocol-math.test.ts copy memberlist's own test numbers.

/**
 * Minimum suspicion timeout, ms (util.go suspicionTimeout):
 *   suspicionMult × max(1, log10(max(1, n))) × interval
 * with the node scale truncated to 1/1000 (Go: time.Duration(nodeScale*1000)). Note the floor of 1
 * and log10(n), not the log(N+1) that memberlist's Config comment claims.
 * Example: mult 4, n 20, 1 s → 4 × 1.301 × 1000 = 5204 ms.
 */
export function suspicionTimeout(suspicionMult: number, n: number, intervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  const scaleMillis = Math.trunc(nodeScale * 1000);
  return (suspicionMult * scaleMillis * intervalMs) / 1000;
}

/**
 * Confirmations wanted before a suspicion reaches its minimum (state.go suspectNode):
 * k = suspicionMult − 2, or 0 when n − 2 < k (too few other nodes could ever confirm).
 */
export function suspicionConfirmations(suspicionMult: number, n: number): number {
  const k = suspicionMult - 2;
  return n - 2 < k ? 0 : Math.max(0, k);
}

/**
 * Time left on a suspicion after `confirmations` independent confirmations, ms (suspicion.go
 * remainingSuspicionTime):
 *   timeout = max − (ln(c + 1) / ln(k + 1)) × (max − min), floored to whole ms, at least min;
 *   result  = timeout − elapsed (≤ 0 means "fire now").
 */
export function remainingSuspicionTime(
  confirmations: number,
  k: number,
  elapsedMs: number,
  minMs: number,
  maxMs: number,
): number {
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  const raw = maxMs / 1000 - frac * (maxMs / 1000 - minMs / 1000);
  let timeout = Math.floor(1000 * raw);
  if (timeout < minMs) timeout = minMs;
  return timeout - elapsedMs;
}

/**
 * Gossip transmit limit (util.go retransmitLimit): retransmitMult × ceil(log10(n + 1)).
 * LAN (4): 4 for n ≤ 9, 8 for n = 10–99, 12 for n = 100–999.
 */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Cluster size above which the push/pull interval starts growing (pushPullScaleThreshold). */
const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * Push/pull period, ms (util.go pushPullScale): unchanged for n ≤ 32, else
 *   interval × (ceil(log2(n) − log2(32)) + 1)   → ×2 for 33–64, ×3 for 65–128, ×4 for 129–256 …
 */
export function pushPullScale(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * intervalMs;
}

/**
 * Lifeguard scaling of the probe interval (awareness.go ScaleTimeout): interval × (score + 1).
 * Only the probe interval (ack-handler lifetime, TCP fallback deadline) is scaled; ProbeTimeout
 * and suspicion timers are not.
 */
export function scaleProbeInterval(intervalMs: number, healthScore: number): number {
  return intervalMs * (healthScore + 1);
}
