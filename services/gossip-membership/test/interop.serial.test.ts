// Interop with real Go memberlist nodes (Debian's memberlist 0.2.2, our support/go-peer) on loopback,
// Local profile timings, our service as a real process. One cluster lives through the whole file:
//   ts-1 (seed) ← go-1, go-2 join it (Go joins TS); ts-2 joins go-1 (TS joins Go)
//   → everyone sees everyone alive
//   → go-2 killed: declared dead by the TS nodes (and go-1)
//   → ts-2 killed: declared dead by go-1
//   → ts-2 restarted under the same name: refutes its old state, alive again at a higher incarnation
//   → ts-2 SIGTERM: leaves, shows as left on go-1, exits 0
//   → the device load written to Redis reaches go-1 in ts-1's meta (alive at a higher incarnation)
//   → hostile datagrams and streams at ts-1's gossip port: dropped and counted, nothing changes.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { redisNames } from '@edgefleet/contracts';
import { closeRedis, createRedis } from '@edgefleet/service-kit';
import { freePort, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GoPeer, startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode, until } from '../support/ts-node.js';
import { prepareInterop } from './helpers/interop-setup.js';

const IP = { ts1: '127.0.0.41', ts2: '127.0.0.42', go1: '127.0.0.43', go2: '127.0.0.44' };
let ts1: TsNode;
let ts2: TsNode;
let go1: GoPeer;
let go2: GoPeer;
let ts2Ports: { bindPort: number; httpPort: number };
let redis: RedisServer;
const prefix = `interop${process.pid}`;
const extra: { kill(): Promise<unknown> }[] = [];

beforeAll(async () => {
  await prepareInterop();
  redis = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(
    [ts1, ts2, go1, go2, ...extra].filter(Boolean).map((n) => n.kill().catch(() => undefined)),
  );
  await redis?.stop();
});

/**
 * Local profile bound on failure detection in these small clusters (n = 4 counting the dead node):
 * suspicion max = SuspicionMaxTimeoutMult 6 × SuspicionMult 3 × 1 s = 18 s when no other node's
 * confirmation arrives (gossip with RetransmitMult 2 can miss a node), plus a probe round.
 * Typically ~5 s.
 */
const DEATH_MS = 25_000;

const dropped = async (n: TsNode): Promise<number> => {
  const text = await n.metrics();
  let total = 0;
  for (const m of text.matchAll(/^gossip_dropped_packets_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
};

describe('interop with Go memberlist 0.2.2', { timeout: 90_000 }, () => {
  it('Go nodes join a TS node, a TS node joins a Go node, and all see all alive', async () => {
    ts1 = await startTsNode({
      name: 'ts-1',
      ip: IP.ts1,
      bindPort: await freePort(IP.ts1),
      httpPort: await freePort(),
      env: {
        EDGEFLEET_REDIS_URL: redis.url,
        EDGEFLEET_REDIS_PREFIX: prefix,
        EDGEFLEET_LOAD_POLL_MS: '200',
        EDGEFLEET_META_MIN_INTERVAL_MS: '500',
        EDGEFLEET_ROLE: 'server',
      },
    });
    go1 = await startGoPeer({
      name: 'go-1',
      bind: IP.go1,
      port: await freePort(IP.go1),
      join: [`${IP.ts1}:${ts1.bindPort}`],
    });
    go2 = await startGoPeer({
      name: 'go-2',
      bind: IP.go2,
      port: await freePort(IP.go2),
      join: [`${IP.ts1}:${ts1.bindPort}`],
    });
    ts2Ports = { bindPort: await freePort(IP.ts2), httpPort: await freePort() };
    ts2 = await startTsNode({ name: 'ts-2', ip: IP.ts2, ...ts2Ports, members: [`${IP.go1}:${go1.port}`] });
    const names = ['go-1', 'go-2', 'ts-1', 'ts-2'];
    const allAlive = async (list: { name: string; state: string }[]) =>
      names.every((n) => list.some((m) => m.name === n && m.state === 'alive'));
    try {
      await until(
        async () =>
          (await allAlive(await ts1.members())) &&
          (await allAlive(await ts2.members())) &&
          (await allAlive(await go1.members())) &&
          (await allAlive(await go2.members())),
        'all four alive everywhere',
        // Gossip usually converges in well under a second. With the Local profile's retransmit limit an
        // alive can die out before it reaches everyone (Go nodes do the same); push/pull with one random
        // node every 15 s then repairs it, so the bound is two push/pull intervals.
        35_000,
      );
    } catch (e) {
      const v = async (n: { members(): Promise<{ name: string; state: string }[]> }) =>
        (await n.members()).map((m) => `${m.name}:${m.state}`).join(',');
      console.error(
        'VIEWS',
        'ts1',
        await v(ts1),
        'ts2',
        await v(ts2),
        'go1',
        await v(go1),
        'go2',
        await v(go2),
      );
      throw e;
    }

    // The Go nodes hold our advertised address and port.
    const seen = (await go1.members()).find((m) => m.name === 'ts-1');
    expect(seen).toMatchObject({ addr: IP.ts1, port: ts1.bindPort, incarnation: 1 });
    expect(ts1.proc.output()).toMatch(
      new RegExp(
        `^Local member ${IP.ts1.replace(/\./g, '\\.')}:${ts1.bindPort}\\nListening on :${ts1.httpPort}\\n`,
      ),
    );
  });

  it('a killed Go node is declared dead by the TS nodes', async () => {
    await go2.kill();
    await until(
      async () => (await ts1.stateOf('go-2')) === 'dead' && (await ts2.stateOf('go-2')) === 'dead',
      'go-2 dead on ts-1 and ts-2',
      DEATH_MS,
    );
    expect(await go1.stateOf('go-2')).toMatch(/suspect|dead/);
  }, 40_000);

  it('a killed TS node is declared dead by the Go node', async () => {
    await ts2.kill();
    await until(
      async () => (await go1.stateOf('ts-2')) === 'dead' && (await ts1.stateOf('ts-2')) === 'dead',
      'ts-2 dead on go-1 and ts-1',
      DEATH_MS,
    );
  }, 40_000);

  it('a TS node restarted under the same name refutes its old state and comes back alive', async () => {
    const before = (await go1.members()).find((m) => m.name === 'ts-2')?.incarnation ?? 0;
    ts2 = await startTsNode({ name: 'ts-2', ip: IP.ts2, ...ts2Ports, members: [`${IP.go1}:${go1.port}`] });
    await until(async () => (await go1.stateOf('ts-2')) === 'alive', 'ts-2 alive again on go-1');
    await until(async () => (await ts1.stateOf('ts-2')) === 'alive', 'ts-2 alive again on ts-1');
    const after = (await go1.members()).find((m) => m.name === 'ts-2')?.incarnation ?? 0;
    expect(after).toBeGreaterThan(before);
    const self = (await ts2.members()).find((m) => m.name === 'ts-2');
    expect(self).toMatchObject({ state: 'alive', incarnation: after });
  });

  it('a TS node that leaves (SIGTERM) shows as left on the Go node and exits 0', async () => {
    expect(await ts2.stop()).toBe(0);
    await until(async () => (await go1.stateOf('ts-2')) === 'left', 'ts-2 left on go-1', 10_000);
    await until(async () => (await ts1.stateOf('ts-2')) === 'left', 'ts-2 left on ts-1', 10_000);
  });

  it('the device load from Redis reaches the Go node in our meta, at a higher incarnation', async () => {
    const before = (await go1.members()).find((m) => m.name === 'ts-1');
    expect(JSON.parse(before?.meta ?? 'null')).toMatchObject({
      v: 1,
      role: 'server',
      ver: expect.any(String),
    });
    const client = createRedis({ url: redis.url, name: 'interop:load' });
    await client.hset(redisNames(prefix).deviceLoad, {
      running: '2',
      queued: '5',
      freeDiskBytes: String(8 * 2 ** 30),
      updatedAt: String(Date.now()),
    });
    await closeRedis(client);
    const seen = await until(async () => {
      const m = (await go1.members()).find((x) => x.name === 'ts-1');
      const meta = JSON.parse(m?.meta ?? 'null');
      return meta?.load?.queued === 5 ? { m, meta } : false;
    }, 'load in ts-1 meta on go-1');
    expect(seen.meta.load).toMatchObject({ running: 2, queued: 5, freeDiskMiB: 8192 });
    expect(seen.m?.incarnation).toBeGreaterThan(before?.incarnation ?? 0);
    expect(seen.m?.state).toBe('alive');
    // and our own /v1/members shows it decoded
    const self = (await (await fetch(`http://127.0.0.1:${ts1.httpPort}/v1/members`)).json()) as {
      members: { name: string; meta: { load?: { queued: number } } | null }[];
    };
    expect(self.members.find((m) => m.name === 'ts-1')?.meta?.load?.queued).toBe(5);
  });

  it('hostile streams on the gossip port get an error or a close, are counted, and change nothing', async () => {
    const before = await dropped(ts1);
    const send = (bytes: Buffer, end: boolean) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const s = connect({ host: IP.ts1, port: ts1.bindPort }, () => (end ? s.end(bytes) : s.write(bytes)));
        s.on('data', (d) => chunks.push(d));
        s.on('error', () => {});
        s.on('close', () => resolve(Buffer.concat(chunks)));
      });
    // Garbage: answered with an errResp (13) and closed.
    const reply = await send(Buffer.from('GET / HTTP/1.1\r\n\r\n'), false);
    expect(reply[0] === 13 || reply[0] === 9).toBe(true);
    // A push/pull header promising 3 states, then silence: closed after TCPTimeout (1 s Local).
    const partial = Buffer.from('0683a44a6f696ec3a54e6f64657303ac5573657253746174654c656e00', 'hex');
    expect((await send(partial, false)).length).toBe(0);
    // The same, ended early by the peer.
    expect((await send(partial, true)).length).toBe(0);
    await until(async () => (await dropped(ts1)) >= before + 3, 'hostile streams counted', 5000);
    expect(await go1.stateOf('ts-1')).toBe('alive');
  });

  it('hostile datagrams on the real socket are dropped and counted, and change nothing', async () => {
    const before = await dropped(ts1);
    const membersBefore = (await ts1.members()).map((m) => `${m.name}:${m.state}:${m.incarnation}`);
    const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
    const hostile = [
      Buffer.from('not memberlist at all'),
      Buffer.alloc(0),
      hex('99 00 01'), // unknown message type
      hex('04 86 a441646472 a47f0000'), // alive, truncated inside Addr
      hex('07 03 0012 0009'), // compound announcing 3 parts, with none
      hex('0c 00000000 0282a75061796c6f6164c0a55365714e6f07'), // CRC wrapper, wrong CRC
      hex('09 82 a4416c676f 00 a3427566 a3 ffffff'), // compressed, Buf is not LZW
      hex('05 83 a446726f6d a4676f2d31 ab496e6361726e6174696f6e c0'), // dead, truncated
    ];
    const sock = createSocket('udp4');
    for (const p of hostile) sock.send(p, ts1.bindPort, IP.ts1);
    await until(
      async () => (await dropped(ts1)) >= before + hostile.length - 1,
      'hostile datagrams counted',
      5000,
    );
    sock.close();
    const text = await ts1.metrics();
    for (const reason of ['decode', 'truncated', 'crc', 'decompress'])
      expect(text).toMatch(new RegExp(`gossip_dropped_packets_total\\{reason="${reason}"[^}]*\\} [1-9]`));
    const membersAfter = (await ts1.members()).map((m) => `${m.name}:${m.state}:${m.incarnation}`);
    expect(membersAfter).toEqual(membersBefore);
    expect(ts1.proc.proc.exitCode).toBeNull();
    expect(await go1.stateOf('ts-1')).toBe('alive');
  });
});
