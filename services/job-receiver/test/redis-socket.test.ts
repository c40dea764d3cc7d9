// EDGEFLEET_REDIS_URL=unix:///…/redis.sock: the receiver process reaches a password-protected Redis
// over its Unix socket only (how docker/compose.yaml connects every service: Redis has no TCP port
// there), and is ready; a socket path that does not exist leaves it alive but not ready.
import { fileURLToPath } from 'node:url';
import { freePort, type RedisServer, startRedisServer, startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PASSWORD = 'socket-test-password-0123456789';
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer({ password: PASSWORD, unixSocket: true });
});
afterAll(async () => {
  await redis?.stop();
});

const env = (redisUrl: string, port: number) => ({
  EDGEFLEET_PORT: String(port),
  EDGEFLEET_REDIS_URL: redisUrl,
  EDGEFLEET_REDIS_PASSWORD: PASSWORD,
  EDGEFLEET_NODE_NAME: 'socket-node',
  EDGEFLEET_QUEUE_URLS: 'http://127.0.0.1:9/000000000000/q',
  EDGEFLEET_API_TOKEN: 'socket-test-api-token-0123456789',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
});

describe('Redis over a Unix socket', () => {
  it('the receiver is ready through unix:///…/redis.sock, every connection of it on the socket', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, { env: env(`unix://${redis.socketPath}`, port) });
    await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as {
      checks: Record<string, boolean>;
    };
    expect(ready.checks.redis).toBe(true);
    // Every connection the receiver holds came in through the socket, none over TCP.
    const client = redis.client();
    try {
      const mine = ((await client.client('LIST')) as string)
        .split('\n')
        .filter((l) => /\bname=job-receiver/.test(l));
      expect(mine.length).toBeGreaterThan(0);
      for (const l of mine) expect(l).toContain('redis.sock');
    } finally {
      client.disconnect();
    }
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);

  it('a socket that does not exist: alive, not ready (redis false)', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, { env: env(`unix://${redis.dir}/no-such.sock`, port) });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, boolean> }).checks.redis).toBe(false);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
