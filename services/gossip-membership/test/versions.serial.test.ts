// Protocol and delegate versions against Go memberlist 0.2.2 peers (support/go-peer) on loopback:
//  - a Go peer on ProtocolVersion 1 with a key seals with encryption version 0 (PKCS#7 padding); our
//    node with --protocol-version=1 and the same key joins it and both see each other alive;
//  - a Go peer that sets delegate versions 2/4/3: memberlist's verifyProtocol (state.go) refuses a
//    node advertising 0/0/0, so our node without the flags cannot join it, and with
//    --delegate-protocol-min/max/version 2/4/3 it can.
import { freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGoPeer } from '../support/go-peer.js';
import { startTsNode, until } from '../support/ts-node.js';
import { prepareInterop } from './helpers/interop-setup.js';

const IP = {
  goV1: '127.0.0.71',
  tsV1: '127.0.0.72',
  goD: '127.0.0.73',
  tsPlain: '127.0.0.74',
  tsD: '127.0.0.75',
};
const KEY = Buffer.alloc(16, 7).toString('base64');
const started: { kill(): Promise<unknown> }[] = [];

beforeAll(prepareInterop, 240_000);
afterAll(async () => {
  await Promise.all(started.map((n) => n.kill().catch(() => undefined)));
});

describe('protocol and delegate versions with Go memberlist 0.2.2', { timeout: 90_000 }, () => {
  it('joins a Go peer on ProtocolVersion 1 with encryption (version 0 sealing), both ways alive', async () => {
    const go = await startGoPeer({
      name: 'go-v1',
      bind: IP.goV1,
      port: await freePort(IP.goV1),
      protocolVersion: 1,
      key: KEY,
    });
    started.push(go);
    const ts = await startTsNode({
      name: 'ts-v1',
      ip: IP.tsV1,
      bindPort: await freePort(IP.tsV1),
      httpPort: await freePort(),
      members: [`${IP.goV1}:${go.port}`],
      extraArgs: ['--protocol-version=1', `--key=${KEY}`],
    });
    started.push(ts);
    await until(async () => (await go.stateOf('ts-v1')) === 'alive', 'go-v1 sees ts-v1 alive');
    await until(async () => (await ts.stateOf('go-v1')) === 'alive', 'ts-v1 sees go-v1 alive');
    // Nothing ts-v1 received from go-v1 (version-0 sealed datagrams and streams) failed to open.
    expect(await ts.metrics()).not.toMatch(
      /gossip_dropped_packets_total\{[^}]*reason="decrypt"[^}]*\} [1-9]/,
    );
  });

  it('a Go peer with delegate versions 2/4/3 refuses 0/0/0 and accepts a node advertising them', async () => {
    const go = await startGoPeer({
      name: 'go-d',
      bind: IP.goD,
      port: await freePort(IP.goD),
      delegate: { min: 2, max: 4, version: 3 },
    });
    started.push(go);
    const plain = await startTsNode({
      name: 'ts-plain',
      ip: IP.tsPlain,
      bindPort: await freePort(IP.tsPlain),
      httpPort: await freePort(),
      members: [`${IP.goD}:${go.port}`],
    });
    started.push(plain);
    await until(
      async () => /join through a seed failed|no member answered/.test(plain.proc.output()),
      'ts-plain join refused',
    );
    expect(plain.proc.output()).toMatch(/delegate|protocol version/i);
    expect((await plain.members()).map((m) => m.name)).toEqual(['ts-plain']);
    await plain.kill();

    const ts = await startTsNode({
      name: 'ts-d',
      ip: IP.tsD,
      bindPort: await freePort(IP.tsD),
      httpPort: await freePort(),
      members: [`${IP.goD}:${go.port}`],
      extraArgs: ['--delegate-protocol-min=2', '--delegate-protocol-max=4', '--delegate-protocol-version=3'],
    });
    started.push(ts);
    await until(async () => (await go.stateOf('ts-d')) === 'alive', 'go-d sees ts-d alive');
    await until(async () => (await ts.stateOf('go-d')) === 'alive', 'ts-d sees go-d alive');
  });
});
