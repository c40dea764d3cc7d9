// Reads a job's live output tail (contracts' log-tail.ts: a capped Redis stream of LogChunk entries
// written by the executor at `logTailKey(jobId)`).
import { decodeLogChunk, type LogTailChunk, type RedisNames } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';

const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
const isEntryId = (id: string): boolean => ENTRY_ID.test(id);

export class LogTailReader {
  constructor(
    private readonly redis: Redis,
    private readonly names: RedisNames,
  ) {}

  /** Up to `count` chunks after entry id `after` (from the start when absent). Malformed entries are skipped. */
  async read(jobId: string, after: string | undefined, count: number): Promise<LogTailChunk[]> {
    const start = after && isEntryId(after) ? `(${after}` : '-';
    const entries = (await this.redis.xrange(this.names.logTailKey(jobId), start, '+', 'COUNT', count)) as [
      string,
      string[],
    ][];
    const out: LogTailChunk[] = [];
    for (const [id, fields] of entries) {
      const chunk = decodeLogChunk(fields);
      if (chunk) out.push({ id, ...chunk });
    }
    return out;
  }
}
