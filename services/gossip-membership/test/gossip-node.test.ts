// createGossipNode in-process: two nodes from the command-line parser, a real Redis given to both
// (and so never closed by them), joined over loopback and stopped through the handle.

import type { MembersBody } from '@edgefleet/contracts';
import { eventually, freePort, logSink, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGossipNode, parseGossipConfig, SERVICE } from '../src/index.js';

let redis: RedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedisServer({ aof: false });
  client = redis.client();
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

const configFor = async (name: string, ip: string, members: string[] = []) =>
  parseGossipConfig(
    [
      `-name=${name}`,
      `-bind=${ip}`,
      '-bindPort',
      String(await freePort(ip)),
      '-port=0',
      '-profile=local',
      ...(members.length > 0 ? [`-members=${members.join(',')}`] : []),
    ],
    { EDGEFLEET_HTTP_HOST: '127.0.0.1', EDGEFLEET_REDIS_URL: redis.url },
  );

const membersOf = async (port: number) =>
  ((await (await fetch(`http://127.0.0.1:${port}/v1/members`)).json()) as MembersBody).members;

describe('createGossipNode', () => {
  it('builds without binding, joins after start(), leaves on stop(), and keeps the given Redis open', async () => {
    const sink = logSink('info');
    const signalHandlers = process.listenerCount('SIGTERM');
    const linesA: string[] = [];
    const configA = await configFor('node-a', '127.0.0.71');
    const a = await createGossipNode(configA, {
      logger: sink.logger,
      redis: client,
      legacyLine: (l) => linesA.push(l),
    });
    expect(a.service).toBe(SERVICE);
    // Nothing listens before start(): the routes answer through inject only.
    expect(a.app.server.listening).toBe(false);
    await a.start();
    expect(linesA).toEqual([`Local member 127.0.0.71:${configA.bindPort}`, `Listening on :0`]);
    const b = await createGossipNode(
      await configFor('node-b', '127.0.0.72', [`127.0.0.71:${configA.bindPort}`]),
      {
        logger: sink.logger,
        redis: client,
        legacyLine: () => {},
      },
    );
    await b.start();
    expect(a.port()).toBeGreaterThan(0);
    await eventually(
      async () => {
        const names = (await membersOf(a.port())).filter((m) => m.state === 'alive').map((m) => m.name);
        return names.length === 2 ? names : undefined;
      },
      { timeoutMs: 10_000, what: 'a sees both nodes alive' },
    );

    expect(await b.stop(5_000)).toBe(true);
    await eventually(
      async () => (await membersOf(a.port())).find((m) => m.name === 'node-b')?.state === 'left',
      { timeoutMs: 10_000, what: 'a sees b left' },
    );
    expect(await a.stop(5_000)).toBe(true);
    expect(a.app.server.listening).toBe(false);
    // The injected client is the caller's: still open. No signal handler was installed.
    expect(await client.ping()).toBe('PONG');
    expect(process.listenerCount('SIGTERM')).toBe(signalHandlers);
    // Its logger is a child of the given one, with the service's name.
    expect(sink.find((l) => l.service === SERVICE && l.msg === `${SERVICE} listening`)).toBeDefined();
  });

  it('stop() before start() closes what the factory created and reports clean', async () => {
    const node = await createGossipNode(await configFor('node-c', '127.0.0.73'), {
      logger: logSink('info').logger,
    });
    expect(await node.stop(2_000)).toBe(true);
  });
});
