// Keeps the `jobs` and `results` streams within their memory budget (core/stream-budget.ts): measures a
// stream with MEMORY USAGE, finds how many of its oldest entries are over the budget, and trims them
// with XTRIM MINID, never past the first entry a consumer group has not read or acknowledged.
import type { Redis } from 'ioredis';
import {
  entriesOverBudget,
  type GroupPosition,
  nextStreamId,
  processedBefore,
  scanChunk,
} from '../core/stream-budget.js';

export interface StreamTrimReport {
  stream: string;
  /** MEMORY USAGE before the trim, bytes. */
  usageBytes: number;
  length: number;
  trimmed: number;
  /** Set when the stream is over budget but its entries are not all processed yet. */
  held?: string;
}

/** Where each consumer group of the stream is (none when the stream does not exist). */
export async function groupPositions(redis: Redis, stream: string): Promise<GroupPosition[]> {
  let raw: unknown[][];
  try {
    raw = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch (e) {
    if (/no such key/i.test((e as Error).message)) return [];
    throw e;
  }
  const out: GroupPosition[] = [];
  for (const g of raw) {
    const rec: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) rec[String(g[i])] = g[i + 1];
    const name = String(rec.name);
    const pending = (await redis.xpending(stream, name)) as [number, string | null, ...unknown[]];
    out.push({
      lastDeliveredId: String(rec['last-delivered-id']),
      ...(pending[0] > 0 && pending[1] ? { oldestPendingId: pending[1] } : {}),
    });
  }
  return out;
}

/**
 * Trims the oldest processed entries of `stream` until it fits `budgetBytes` (as far as they reach).
 * The count to trim comes from the mean entry size, which the stream's fixed overhead skews, and Redis
 * frees a stream's memory a whole node (listpack) at a time, not per entry; so the stream is measured
 * again after each trim, and a trim that freed nothing is followed by one at least four times larger
 * (at most 8 passes).
 */
export async function trimStreamToBudget(
  redis: Redis,
  stream: string,
  budgetBytes: number,
): Promise<StreamTrimReport> {
  let first: StreamTrimReport | undefined;
  let trimmed = 0;
  let held: string | undefined;
  let before = Number.POSITIVE_INFINITY;
  let atLeast = 1;
  for (let pass = 0; pass < 8; pass++) {
    const r = await trimOnce(redis, stream, budgetBytes, atLeast);
    first ??= r;
    // r.usageBytes is measured after the previous pass's trim: unchanged means it freed no node.
    if (r.usageBytes >= before) atLeast *= 4;
    before = r.usageBytes;
    trimmed += r.trimmed;
    held = r.held;
    if (r.trimmed === 0 || r.held) break;
  }
  return { ...(first as StreamTrimReport), trimmed, ...(held ? { held } : {}) };
}

async function trimOnce(
  redis: Redis,
  stream: string,
  budgetBytes: number,
  atLeast: number,
): Promise<StreamTrimReport> {
  const usageBytes = Number((await redis.memory('USAGE', stream, 'SAMPLES', '0')) ?? 0);
  const length = await redis.xlen(stream);
  const report: StreamTrimReport = { stream, usageBytes, length, trimmed: 0 };
  const needed = entriesOverBudget({ usageBytes, length, budgetBytes });
  if (needed === 0) return report;
  const over = Math.min(length, Math.max(needed, atLeast));
  const floor = processedBefore(await groupPositions(redis, stream));
  if (!floor) return { ...report, held: 'no consumer group has read the stream yet' };
  // The id of the over-th entry, or of the last processed one if fewer are processed.
  const chunk = scanChunk(usageBytes, length);
  let seen = 0;
  let lastId: string | undefined;
  let start = '-';
  while (seen < over) {
    const batch = await redis.xrange(stream, start, `(${floor}`, 'COUNT', Math.min(chunk, over - seen));
    if (batch.length === 0) break;
    seen += batch.length;
    lastId = batch[batch.length - 1]?.[0];
    start = `(${lastId}`;
  }
  const trimmed = lastId ? await redis.xtrim(stream, 'MINID', nextStreamId(lastId)) : 0;
  return {
    ...report,
    trimmed,
    ...(seen < over ? { held: `${over - seen} more entries over budget are not processed yet` } : {}),
  };
}
