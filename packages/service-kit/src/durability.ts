// "Durable before delete": a job's hand-off must survive a power cut before its SQS message is
// deleted. Two ways: Redis ≥ 7.2 offers WAITAOF (block until the write is fsynced to the local AOF);
// older Redis must run with `appendonly yes` and `appendfsync always`, in which case every write is
// fsynced before the reply. `detectDurability` decides once at start which applies.
import type { Redis } from 'ioredis';

export type DurabilityMode = 'waitaof' | 'aof-always' | 'none';

export interface DurabilityInfo {
  mode: DurabilityMode;
  version: string;
  detail: string;
}

const parseVersion = (v: string) => v.split('.').map((n) => Number.parseInt(n, 10) || 0);
export function versionAtLeast(version: string, min: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(min);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Which wait makes a write durable, from the server's settings. `appendfsync always` fsyncs every
 * write before the reply: nothing to wait for, whatever the version. `everysec` fsyncs once a second:
 * only WAITAOF (Redis ≥ 7.2) can say when a write is on disk; without it a power cut loses up to a
 * second of hand-offs. `no` leaves fsync to the kernel: not durable. Pure.
 */
export function chooseDurability(version: string, aofOn: boolean, fsync: string | undefined): DurabilityInfo {
  if (aofOn && fsync === 'always')
    return { mode: 'aof-always', version, detail: 'appendonly yes, appendfsync always' };
  // fsync unknown (CONFIG renamed away): WAITAOF still tells when the write is on disk.
  if (aofOn && fsync !== 'no' && versionAtLeast(version, '7.2.0'))
    return {
      mode: 'waitaof',
      version,
      detail: `appendfsync ${fsync ?? 'unknown'}: WAITAOF 1 0 after each hand-off`,
    };
  return {
    mode: 'none',
    version,
    detail: aofOn
      ? `appendfsync ${fsync ?? 'unknown'} on Redis ${version} (WAITAOF needs 7.2): a power cut can lose the last second of hand-offs`
      : 'AOF is off: a restart loses every queued job',
  };
}

/** Reads the server's version and persistence settings (INFO works even where CONFIG is disabled). */
export async function detectDurability(redis: Redis): Promise<DurabilityInfo> {
  const server = await redis.info('server');
  const persistence = await redis.info('persistence');
  const version = infoField(server, 'redis_version') ?? '0.0.0';
  const aofOn = infoField(persistence, 'aof_enabled') === '1';
  let fsync: string | undefined;
  try {
    const cfg = (await redis.config('GET', 'appendfsync')) as string[];
    fsync = cfg[1];
  } catch {
    fsync = undefined; // CONFIG may be renamed away on managed servers
  }
  return chooseDurability(version, aofOn, fsync);
}

/** Key written by waitDurable's probe (a counter; its value means nothing). */
export const DURABILITY_PROBE_KEY = 'edgefleet:durability:probe';

/**
 * Waits until writes acknowledged so far are fsynced locally (WAITAOF mode only). WAITAOF waits for
 * the offset of the calling connection's last write; after a reconnect the connection has written
 * nothing and WAITAOF would return at once, covering nothing. So a probe write goes first, in the same
 * pipeline (one connection): its offset in the AOF is past every write the server acknowledged
 * before it, the hand-off included, and the AOF is fsynced in order.
 */
export async function waitDurable(
  redis: Redis,
  mode: DurabilityMode,
  timeoutMs = 5000,
  probeKey = DURABILITY_PROBE_KEY,
): Promise<boolean> {
  if (mode !== 'waitaof') return true;
  const replies = await redis.pipeline().incr(probeKey).call('WAITAOF', '1', '0', String(timeoutMs)).exec();
  const [incr, wait] = replies ?? [];
  if (!incr || !wait || incr[0] || wait[0]) throw incr?.[0] ?? wait?.[0] ?? new Error('WAITAOF: no reply');
  return ((wait[1] as [number, number])[0] ?? 0) >= 1;
}
