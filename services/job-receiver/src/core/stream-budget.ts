// How much of a stream may go, given its memory and its consumer groups. The `jobs` and `results`
// streams are capped by count at XADD (MAXLEN ~ 100,000), but 100,000 entries of ~0.5 KB are ~50 MB
// each, most of a device Redis's maxmemory; and entries a consumer group has processed are never read
// again. So processed entries are also trimmed, oldest first, while the stream uses more than its byte
// budget; an entry some group has not yet read or acknowledged is never trimmed here, whatever the
// memory (Redis then refuses writes and the receiver stops taking jobs instead of losing one). Pure.

/** A consumer group as XINFO GROUPS and XPENDING report it. */
export interface GroupPosition {
  /** `last-delivered-id`: entries after it have not been read by the group. */
  lastDeliveredId: string;
  /** Smallest id the group has read but not acknowledged (XPENDING's summary), if any. */
  oldestPendingId?: string | undefined;
}

/** A stream id as [ms, seq]. */
function parseStreamId(id: string): [bigint, bigint] {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`not a stream id: ${id}`);
  return [BigInt(m[1] as string), BigInt(m[2] as string)];
}

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a);
  const [bm, bs] = parseStreamId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The smallest id greater than `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = parseStreamId(id);
  return `${ms}-${seq + 1n}`;
}

/**
 * The id below which every entry has been read and acknowledged by every group (XTRIM MINID keeps
 * this id and everything after it), or null when nothing may go (no group yet: nobody has read the
 * stream).
 */
export function processedBefore(groups: GroupPosition[]): string | null {
  if (groups.length === 0) return null;
  let floor: string | null = null;
  for (const g of groups) {
    const mine = g.oldestPendingId ?? nextStreamId(g.lastDeliveredId);
    if (floor === null || compareStreamIds(mine, floor) < 0) floor = mine;
  }
  return floor;
}

/**
 * Entries to trim from the head so that the stream fits its budget, from its measured size and length
 * (bytes per entry taken as the stream's mean): ceil((usage − budget) ÷ (usage ÷ length)); 0 within
 * budget.
 */
export function entriesOverBudget(o: { usageBytes: number; length: number; budgetBytes: number }): number {
  if (o.length <= 0 || o.usageBytes <= o.budgetBytes) return 0;
  const perEntry = o.usageBytes / o.length;
  return Math.min(o.length, Math.ceil((o.usageBytes - o.budgetBytes) / perEntry));
}

/** Entries to read per XRANGE while looking for where to trim: ~1 MiB of entries, 1..1000. */
export function scanChunk(usageBytes: number, length: number): number {
  if (length <= 0) return 1;
  return Math.max(1, Math.min(1000, Math.floor(2 ** 20 / Math.max(1, usageBytes / length))));
}
