// Reads the device's load from the Redis hash the executor writes (redisNames(prefix).deviceLoad,
// schema DeviceLoad). Never throws and never waits long: with Redis down or the hash missing or
// malformed it resolves undefined, and gossip carries on with the last known load.
import { DeviceLoad } from '@edgefleet/contracts';
import type { Redis } from '@edgefleet/service-kit';

export async function readDeviceLoad(
  redis: Redis,
  key: string,
  timeoutMs = 500,
): Promise<DeviceLoad | undefined> {
  if (redis.status !== 'ready') return undefined;
  try {
    const fields = await Promise.race([
      redis.hgetall(key),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref()),
    ]);
    if (!fields || Object.keys(fields).length === 0) return undefined;
    const parsed = DeviceLoad.safeParse(fields);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
