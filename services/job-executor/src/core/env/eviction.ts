// Which cached environments to remove to get under the disk quota. Pure.
//
// Least recently used first; an environment in use (a process runs from it, a build or hit of this
// process holds it, or it was used within the grace window — the gap between `ensure` returning in
// another process and its job starting) is never chosen, even if the cache then stays over quota.

export interface CachedEnvironment {
  key: string;
  /** Disk usage, in bytes (allocated blocks). */
  sizeBytes: number;
  /** Last hit or build, ms since epoch. */
  lastUsedMs: number;
  inUse: boolean;
}

export function chooseVictims(
  entries: CachedEnvironment[],
  quotaBytes: number,
  nowMs: number,
  graceMs: number,
): CachedEnvironment[] {
  let total = entries.reduce((s, e) => s + e.sizeBytes, 0);
  const victims: CachedEnvironment[] = [];
  const candidates = entries
    .filter((e) => !e.inUse && nowMs - e.lastUsedMs >= graceMs)
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.key < b.key ? -1 : 1));
  for (const e of candidates) {
    if (total <= quotaBytes) break;
    victims.push(e);
    total -= e.sizeBytes;
  }
  return victims;
}
