// Does Redis accept writes, given its memory? Redis refuses every write command (and every script that
// may write) with `OOM command not allowed when used memory > 'maxmemory'` once used_memory exceeds
// maxmemory and the policy cannot evict (noeviction; see redis's evict.c, performEvictions). The
// receiver then takes no job: SQS polling pauses and /readyz says why, rather than receiving messages
// it cannot hand off and keeping them invisible in a retry loop. Pure.

export interface RedisMemory {
  /** used_memory, in bytes. */
  usedBytes: number;
  /** maxmemory, in bytes (0: no limit). */
  maxBytes: number;
  /** maxmemory_policy (noeviction, allkeys-lru…). */
  policy: string;
}

/** The fields of `INFO memory` this needs, or undefined when they are missing. */
export function parseRedisMemory(info: string): RedisMemory | undefined {
  const field = (name: string) => info.match(new RegExp(`^${name}:(\\S+)`, 'm'))?.[1];
  const used = Number(field('used_memory'));
  const max = Number(field('maxmemory'));
  const policy = field('maxmemory_policy');
  if (!Number.isFinite(used) || !Number.isFinite(max) || policy === undefined) return undefined;
  return { usedBytes: used, maxBytes: max, policy };
}

/** Null when writes are accepted, else why not. */
export function writesRefusedWhy(m: RedisMemory): string | null {
  if (m.maxBytes === 0 || m.usedBytes <= m.maxBytes || m.policy !== 'noeviction') return null;
  return `redis refuses writes: used_memory ${m.usedBytes} bytes > maxmemory ${m.maxBytes} (noeviction)`;
}

/** True for Redis's out-of-memory reply to a write. */
export function isOomError(err: unknown): boolean {
  return err instanceof Error && /^OOM\b/.test(err.message);
}
