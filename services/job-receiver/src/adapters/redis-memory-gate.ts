// Reads `INFO memory` and says whether Redis accepts writes (core/redis-memory.ts); logs one line when
// that changes. Used by the hand-off gate (SQS polling, the HTTP API) and by /readyz.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseRedisMemory, writesRefusedWhy } from '../core/redis-memory.js';

export class RedisMemoryGate {
  private last: string | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  /** Why writes are refused at the last check, or null. */
  why(): string | null {
    return this.last;
  }

  /** True when Redis accepts writes (an unreadable INFO counts as accepting: other checks cover reachability). */
  async check(): Promise<boolean> {
    const m = parseRedisMemory(await this.redis.info('memory'));
    const why = m ? writesRefusedWhy(m) : null;
    // One line per change of state: the reason's figures (used memory) move between checks.
    if ((why === null) !== (this.last === null)) {
      if (why) this.logger.error({ why }, 'redis out of memory: taking no jobs');
      else this.logger.info('redis accepts writes again: taking jobs');
    }
    this.last = why;
    return why === null;
  }
}
