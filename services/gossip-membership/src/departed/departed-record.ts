// The record of departed members: every node that turned dead or left, kept for a retention after
// the protocol's member table has reaped it (members.ts reaps after gossipToTheDeadTime, as
// memberlist does; this record is apart from it, so the wire behaviour does not change).
//
// Pure decisions only (no clock, no I/O): the caller passes the wall-clock time `now` (ms since the
// epoch), the retention, and whether the member table holds a node alive. Rules:
//   departure  a dead/left event of the table adds or replaces the node's entry (declared `now`);
//   return     a join/alive event (the node is alive again in the table) removes its entry at once;
//   merge      an entry from a peer is taken unless it is about ourselves, its node is alive or
//              suspect in our table (the table is the fresher source; any incarnation, because a
//              node restarted after being reaped comes back at a LOWER incarnation), or it has
//              expired. Two entries for one name: the one that wins `newer` is kept, so every node
//              ends up with the same entry whatever the order of the exchanges;
//   expiry     an entry leaves `retentionMs` after it was declared (`at`, the declaring node's clock).
// A retention of 0 keeps nothing: the member table alone answers, as memberlist does.
import type { DepartedMember } from '@edgefleet/contracts';

export type DepartedEntries = ReadonlyMap<string, DepartedMember>;

/** Whether entry `a` should replace entry `b` for the same name: higher incarnation, then earlier declaration, then declarer name. */
function newer(a: DepartedMember, b: DepartedMember): boolean {
  if (a.incarnation !== b.incarnation) return a.incarnation > b.incarnation;
  if (a.at !== b.at) return a.at < b.at;
  if (a.state !== b.state) return a.state === 'left';
  return a.by < b.by;
}

const expired = (e: DepartedMember, retentionMs: number, now: number): boolean =>
  retentionMs <= 0 || now - e.at >= retentionMs;

/** A node turned dead or left in the member table. Returns the new entries (the same map when unchanged). */
export function recordDeparture(
  entries: DepartedEntries,
  entry: DepartedMember,
  retentionMs: number,
  now: number,
): DepartedEntries {
  if (retentionMs <= 0) return entries;
  const old = entries.get(entry.name);
  // A second declaration of the same death (another incarnation of the same news) keeps the first time.
  if (old !== undefined && !expired(old, retentionMs, now) && old.incarnation >= entry.incarnation)
    return entries;
  return new Map(entries).set(entry.name, entry);
}

/** The node is alive again in the member table: its entry goes at once. */
export function forgetReturned(entries: DepartedEntries, name: string): DepartedEntries {
  if (!entries.has(name)) return entries;
  const next = new Map(entries);
  next.delete(name);
  return next;
}

export interface MergeContext {
  selfName: string;
  /** Whether the member table holds `name` alive or suspect. */
  active: (name: string) => boolean;
  retentionMs: number;
  now: number;
}

export interface MergeResult {
  entries: DepartedEntries;
  /** Entries taken (new names or newer entries). */
  added: number;
}

/** Merges the entries a peer sent (its push/pull user state). */
export function mergeRemote(
  entries: DepartedEntries,
  remote: readonly DepartedMember[],
  ctx: MergeContext,
): MergeResult {
  let next: Map<string, DepartedMember> | undefined;
  let added = 0;
  for (const r of remote) {
    if (r.name === ctx.selfName || ctx.active(r.name) || expired(r, ctx.retentionMs, ctx.now)) continue;
    const current = (next ?? entries).get(r.name);
    if (current !== undefined && !expired(current, ctx.retentionMs, ctx.now) && !newer(r, current)) continue;
    next ??= new Map(entries);
    next.set(r.name, r);
    added++;
  }
  return { entries: next ?? entries, added };
}

/** Drops expired entries (the same map when none expired). */
export function expire(entries: DepartedEntries, retentionMs: number, now: number): DepartedEntries {
  let next: Map<string, DepartedMember> | undefined;
  for (const [name, e] of entries)
    if (expired(e, retentionMs, now)) {
      next ??= new Map(entries);
      next.delete(name);
    }
  return next ?? entries;
}

/** When the next entry expires (ms since the epoch), Infinity when none. */
export function nextExpiry(entries: DepartedEntries, retentionMs: number): number {
  let at = Number.POSITIVE_INFINITY;
  for (const e of entries.values()) at = Math.min(at, e.at + retentionMs);
  return at;
}

/** Entries shown: not expired, not alive in the table; newest declaration first. */
export function visible(
  entries: DepartedEntries,
  active: (name: string) => boolean,
  retentionMs: number,
  now: number,
): DepartedMember[] {
  return [...entries.values()]
    .filter((e) => !expired(e, retentionMs, now) && !active(e.name))
    .sort((a, b) => b.at - a.at || (a.name < b.name ? -1 : 1));
}
