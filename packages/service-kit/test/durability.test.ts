// How a hand-off is made durable: decided from the server's version and AOF settings, checked
// against the redis-server installed here (7.0) with each appendfsync setting.
import { startRedisServer } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { chooseDurability, detectDurability, waitDurable } from '../src/durability.js';

describe('chooseDurability', () => {
  it.each([
    ['7.0.15', true, 'always', 'aof-always'],
    ['7.2.4', true, 'always', 'aof-always'],
    ['7.2.4', true, 'everysec', 'waitaof'],
    ['8.0.0', true, undefined, 'waitaof'],
    ['7.0.15', true, 'everysec', 'none'],
    ['7.2.4', true, 'no', 'none'],
    ['7.2.4', false, 'always', 'none'],
  ] as const)('Redis %s, AOF %s, appendfsync %s → %s', (version, aof, fsync, mode) => {
    expect(chooseDurability(version, aof, fsync).mode).toBe(mode);
  });

  it('says why a server is not durable', () => {
    expect(chooseDurability('7.0.15', true, 'everysec').detail).toMatch(/WAITAOF needs 7\.2/);
    expect(chooseDurability('7.0.15', false, 'everysec').detail).toMatch(/AOF is off/);
  });
});

describe('detectDurability against the local redis-server', () => {
  it.each([
    [{ appendfsync: 'always' as const }, 'aof-always'],
    [{ appendfsync: 'everysec' as const }, 'none'],
    [{ aof: false }, 'none'],
  ])('%o → %s, and the wait it chooses succeeds', async (opts, mode) => {
    const server = await startRedisServer(opts);
    const redis = server.client();
    try {
      const info = await detectDurability(redis);
      expect(info.version).toMatch(/^7\.0\./);
      expect(info.mode).toBe(mode);
      await redis.set('k', 'v');
      expect(await waitDurable(redis, info.mode)).toBe(true);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("detection follows the server's current settings (the receiver re-detects after every reconnect)", async () => {
    const server = await startRedisServer({ appendfsync: 'always' });
    const redis = server.client();
    try {
      expect((await detectDurability(redis)).mode).toBe('aof-always');
      await redis.config('SET', 'appendfsync', 'everysec');
      expect((await detectDurability(redis)).mode).toBe('none');
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
