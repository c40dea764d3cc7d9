// createUploader's handle: HTTP after start() on the port it reports, stop() within a deadline, and
// ownership — the Redis connection it was given stays open, the one it created is closed.
import { createLogger } from '@edgefleet/service-kit';
import { eventually, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUploader, loadConfig, SERVICE } from '../src/index.js';
import { tempDataDir } from './harness.js';

let redisServer: RedisServer;
beforeAll(async () => {
  redisServer = await startRedisServer();
});
afterAll(() => redisServer.stop());

const config = (logLevel = 'silent') =>
  loadConfig({
    EDGEFLEET_PORT: '0',
    EDGEFLEET_REDIS_URL: redisServer.url,
    EDGEFLEET_DATA_DIR: tempDataDir(),
    EDGEFLEET_LOG_LEVEL: logLevel,
  });

describe('createUploader', () => {
  it('listens only after start(), answers /readyz, and leaves an injected Redis open after stop()', async () => {
    const redis = redisServer.client();
    const handle = createUploader(config(), { redis, blockMs: 100 });
    expect(handle.service).toBe(SERVICE);
    expect(handle.app.server.listening).toBe(false);
    await handle.start();
    await eventually(async () => (await fetch(`http://127.0.0.1:${handle.port()}/readyz`)).status === 200, {
      what: '/readyz 200',
    });
    expect(await handle.stop(3000)).toBe(true);
    expect(handle.app.server.listening).toBe(false);
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  it('closes the Redis connection it created', async () => {
    const handle = createUploader(config(), { blockMs: 100 });
    await handle.start();
    expect(await handle.stop(3000)).toBe(true);
    await eventually(() => handle.internals.redis.status === 'end', { what: 'own Redis closed' });
  });

  it("logs at its own configured level under an injected parent logger (the single-process node's)", async () => {
    const parent = createLogger({ level: 'info' });
    for (const level of ['debug', 'error'] as const) {
      const handle = createUploader(config(level), { logger: parent });
      expect(handle.logger.level).toBe(level);
      expect(handle.logger.bindings()).toMatchObject({ service: SERVICE });
      expect(await handle.stop(3000)).toBe(true);
    }
    expect(parent.level).toBe('info');
  });

  it('stops cleanly when it was never started', async () => {
    const handle = createUploader(config());
    expect(await handle.stop(3000)).toBe(true);
    await eventually(() => handle.internals.redis.status === 'end', { what: 'own Redis closed' });
  });
});
