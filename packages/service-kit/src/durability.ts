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
  if (aofOn && versionAtLeast(version, '7.2.0'))
    return { mode: 'waitaof', version, detail: 'WAITAOF 1 0 after each hand-off' };
  if (aofOn && fsync === 'always')
    return { mode: 'aof-always', version, detail: 'appendonly yes, appendfsync always' };
  return {
    mode: 'none',
    version,
    detail: aofOn
      ? `appendfsync ${fsync ?? 'unknown'}: a power cut can lose the last second of hand-offs`
      : 'AOF is off: a restart loses every queued job',
  };
}

/** Waits until previous writes on this connection are fsynced locally (WAITAOF mode only). */
export async function waitDurable(redis: Redis, mode: DurabilityMode, timeoutMs = 5000): Promise<boolean> {
  if (mode !== 'waitaof') return true;
  const reply = (await redis.call('WAITAOF', '1', '0', String(timeoutMs))) as [number, number];
  return reply[0] >= 1;
}
