// The device's load in Redis (hash `deviceLoad`, schema DeviceLoad), for gossip-membership.
//
// running = jobs this executor is handling now. queued = entries of the `jobs` stream that wait for
// this device: the executor group's `lag` (entries never delivered; Redis ≥ 7) plus the group's pending
// entries that no one is running here (delivered to a consumer that crashed, waiting to be claimed).
// Where `lag` is unknown (Redis < 7, or after a trim) the count falls back to XLEN minus `entries-read`,
// else 0. freeDiskBytes = statfs of the data folder (bavail: what an unprivileged writer can use).
// Written every `intervalMs` and at once on every change of `running`.
import { statfs } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export async function freeDiskBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return Number(s.bavail) * Number(s.bsize);
}

async function queuedCount(redis: Redis, stream: string, group: string, running: number): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    const rec: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) rec[String(g[i])] = g[i + 1];
    if (rec.name !== group) continue;
    const pending = Number(rec.pending ?? 0);
    let lag = rec.lag === null || rec.lag === undefined ? Number.NaN : Number(rec.lag);
    if (Number.isNaN(lag)) {
      const len = await redis.xlen(stream);
      const read = Number(rec['entries-read'] ?? Number.NaN);
      lag = Number.isNaN(read) ? 0 : Math.max(0, len - read);
    }
    return Math.max(0, lag + pending - running);
  }
  return 0;
}

export interface DeviceLoadWriter {
  /** Call when the number of running jobs changes. */
  update(running: number): void;
  /** Writes now (also used by tests). */
  writeNow(): Promise<void>;
  close(): void;
}

export function startDeviceLoad(o: {
  redis: Redis;
  key: string;
  jobsStream: string;
  group: string;
  dataDir: string;
  intervalMs: number;
  logger: Logger;
}): DeviceLoadWriter {
  let running = 0;
  let chain: Promise<void> = Promise.resolve();
  const write = () => {
    chain = chain.then(async () => {
      try {
        const queued = await queuedCount(o.redis, o.jobsStream, o.group, running);
        const free = await freeDiskBytes(o.dataDir).catch(() => 0);
        await o.redis.hset(o.key, {
          running: String(running),
          queued: String(queued),
          freeDiskBytes: String(free),
          updatedAt: String(Date.now()),
        });
      } catch (e) {
        o.logger.debug({ err: { message: (e as Error).message } }, 'device load write failed');
      }
    });
    return chain;
  };
  const timer = setInterval(() => void write(), o.intervalMs);
  timer.unref();
  void write();
  return {
    update(n) {
      if (n === running) return;
      running = n;
      void write();
    },
    writeNow: write,
    close: () => clearInterval(timer),
  };
}
