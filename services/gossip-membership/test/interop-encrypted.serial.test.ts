// Encrypted gossip with real Go memberlist nodes (Debian 0.2.2, support/go-peer): the legacy program's
// key form (an ASCII secret zero-padded to 24 bytes, AES-192) and the base64 form of the same key
// interoperate both ways; a Go node with another key, or with none, cannot join, and its attempt
// is counted as a decrypt drop.

import { freePort } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { type GoPeer, startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode, until } from '../support/ts-node.js';
import { useInteropNodes } from './helpers/interop-setup.js';

const SECRET = 'clustersecret';
/** The same key as SECRET zero-padded to 24 bytes, in base64 (the --key form). */
const SECRET_B64 = Buffer.concat([Buffer.from(SECRET), Buffer.alloc(24 - SECRET.length)]).toString('base64');
const IP = { ts1: '127.0.0.81', ts2: '127.0.0.82', go1: '127.0.0.83', go2: '127.0.0.84', go3: '127.0.0.85' };
const nodes = useInteropNodes();

const decryptDrops = async (n: TsNode): Promise<number> =>
  Number(/^gossip_dropped_packets_total\{reason="decrypt"[^}]*\} (\d+)/m.exec(await n.metrics())?.[1] ?? 0);

describe('encrypted interop with Go memberlist 0.2.2', { timeout: 90_000 }, () => {
  let ts1: TsNode;
  let ts2: TsNode;
  let go1: GoPeer;

  it('legacy key text and base64 key: Go joins TS, TS joins Go, all alive', async () => {
    ts1 = await startTsNode({
      name: 'ts-e1',
      ip: IP.ts1,
      bindPort: await freePort(IP.ts1),
      httpPort: await freePort(),
      extraArgs: [`--key-text=${SECRET}`],
    });
    nodes.push(ts1);
    go1 = await startGoPeer({
      name: 'go-e1',
      bind: IP.go1,
      port: await freePort(IP.go1),
      join: [`${IP.ts1}:${ts1.bindPort}`],
      keyText: SECRET,
    });
    nodes.push(go1);
    ts2 = await startTsNode({
      name: 'ts-e2',
      ip: IP.ts2,
      bindPort: await freePort(IP.ts2),
      httpPort: await freePort(),
      members: [`${IP.go1}:${go1.port}`],
      env: { EDGEFLEET_GOSSIP_KEY: SECRET_B64 },
    });
    nodes.push(ts2);
    const names = ['ts-e1', 'ts-e2', 'go-e1'];
    const allAlive = (list: { name: string; state: string }[]) =>
      names.every((n) => list.some((m) => m.name === n && m.state === 'alive'));
    await until(
      async () =>
        allAlive(await ts1.members()) && allAlive(await ts2.members()) && allAlive(await go1.members()),
      'all three alive everywhere',
      // Gossip usually converges in well under a second. With the Local profile's retransmit limit an
      // alive can die out before it reaches everyone (Go nodes do the same); push/pull with one random
      // node every 15 s then repairs it, so the bound is two push/pull intervals.
      35_000,
    );
  });

  it('a Go node with another key, or with no key, cannot join and is counted as a decrypt drop', async () => {
    const before = await decryptDrops(ts1);
    await expect(
      startGoPeer({
        name: 'go-wrong-key',
        bind: IP.go2,
        port: await freePort(IP.go2),
        join: [`${IP.ts1}:${ts1.bindPort}`],
        keyText: 'another-secret',
      }),
    ).rejects.toThrow(/join/);
    await expect(
      startGoPeer({
        name: 'go-plain',
        bind: IP.go3,
        port: await freePort(IP.go3),
        join: [`${IP.ts1}:${ts1.bindPort}`],
      }),
    ).rejects.toThrow(/join/);
    await until(async () => (await decryptDrops(ts1)) >= before + 2, 'decrypt drops counted', 5000);
    const names = (await ts1.members()).map((m) => m.name).sort();
    expect(names).toEqual(['go-e1', 'ts-e1', 'ts-e2']);
  });
});
