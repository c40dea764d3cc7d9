// Gossip labels (--label) on real sockets, our service as real processes (Local profile):
//   three nodes labelled fleet-a converge; a node labelled fleet-b and an unlabelled node never join
//   and never change anyone's view, their attempts (streams) and packets are counted as label drops;
//   with encryption the label is the additional data (a datagram whose header was rewritten to the
//   right label fails to decrypt with the right key; the properly sealed one is answered);
//   with --label-migration an unlabelled and a labelled node (the middle of a migration)
//   form one encrypted cluster; a labelled node and a Go memberlist 0.2.2 peer (no labels) do not
//   join, in either direction, and both keep running.

import { createSocket, type Socket } from 'node:dgram';
import { freePort } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { parseKeyBase64 } from '../src/keyring/key-parse.js';
import { Keyring } from '../src/keyring/keyring.js';
import { profileConfig } from '../src/protocol/config.js';
import type { Message } from '../src/protocol/messages.js';
import { createMemberlistCodec } from '../src/runtime/wire-memberlist.js';
import { type GoPeer, startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode, until } from '../support/ts-node.js';
import { useInteropNodes } from './helpers/interop-setup.js';

const IP = {
  a1: '127.0.0.111',
  a2: '127.0.0.112',
  a3: '127.0.0.113',
  b: '127.0.0.114',
  none: '127.0.0.115',
  e1: '127.0.0.116',
  e2: '127.0.0.117',
  go: '127.0.0.118',
  tsGo: '127.0.0.119',
  probe: '127.0.0.120',
};
const KEY = Buffer.alloc(32, 0x5a).toString('base64');
const nodes = useInteropNodes();

const labelDrops = async (n: TsNode, reason = 'label'): Promise<number> =>
  Number(
    new RegExp(`^gossip_dropped_packets_total\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(
      await n.metrics(),
    )?.[1] ?? 0,
  );
const names = async (n: { members(): Promise<{ name: string }[]> }) =>
  (await n.members()).map((m) => m.name).sort();
const allAlive = (list: { name: string; state: string }[], want: string[]) =>
  want.every((n) => list.some((m) => m.name === n && m.state === 'alive'));

async function node(name: string, ip: string, args: string[], members: string[] = []): Promise<TsNode> {
  const n = await startTsNode({
    name,
    ip,
    bindPort: await freePort(ip),
    httpPort: await freePort(),
    members,
    extraArgs: args,
    env: { EDGEFLEET_JOIN_RETRY_MS: '500' },
  });
  nodes.push(n);
  return n;
}

/** One UDP exchange from a test socket: sends `bytes`, resolves with the first reply or undefined after `ms`. */
function exchange(sock: Socket, to: { ip: string; port: number }, bytes: Uint8Array, ms: number) {
  return new Promise<Uint8Array | undefined>((resolve) => {
    const timer = setTimeout(() => {
      sock.off('message', onMessage);
      resolve(undefined);
    }, ms);
    const onMessage = (msg: Buffer) => {
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(new Uint8Array(msg));
    };
    sock.on('message', onMessage);
    sock.send(bytes, to.port, to.ip);
  });
}

describe('gossip labels on real sockets', { timeout: 90_000 }, () => {
  let a1: TsNode;
  let a2: TsNode;
  let a3: TsNode;
  const fleetA = ['lbl-a1', 'lbl-a2', 'lbl-a3'];

  it('three nodes with the same label join and converge', async () => {
    a1 = await node('lbl-a1', IP.a1, ['--label', 'fleet-a']);
    const seed = [`${IP.a1}:${a1.bindPort}`];
    a2 = await node('lbl-a2', IP.a2, ['-label=fleet-a'], seed);
    // The variable works as well as the flag.
    a3 = await startTsNode({
      name: 'lbl-a3',
      ip: IP.a3,
      bindPort: await freePort(IP.a3),
      httpPort: await freePort(),
      members: seed,
      env: { EDGEFLEET_GOSSIP_LABEL: 'fleet-a' },
    });
    nodes.push(a3);
    await until(
      async () =>
        allAlive(await a1.members(), fleetA) &&
        allAlive(await a2.members(), fleetA) &&
        allAlive(await a3.members(), fleetA),
      'fleet-a converged',
      35_000,
    );
    expect(await labelDrops(a1)).toBe(0);
  });

  it('a node with another label, or none, never joins and changes no view; its traffic is a label drop', async () => {
    const before = await labelDrops(a1);
    const seed = [`${IP.a1}:${a1.bindPort}`];
    const other = await node('lbl-b', IP.b, ['--label=fleet-b'], seed);
    const plain = await node('lbl-none', IP.none, [], seed);
    // Both retry their join every 500 ms; each attempt is a dropped stream at a1.
    await until(async () => (await labelDrops(a1)) >= before + 4, 'join attempts counted as label drops');
    await other.proc.waitForOutput(/no member answered; retrying/);
    await plain.proc.waitForOutput(/no member answered; retrying/);

    // A datagram from each (a ping for a1, as a member would send it) is dropped as well.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, IP.probe, r));
    try {
      const ping: Message = { type: 'ping', body: { seqNo: 9, node: 'lbl-a1' } };
      const protocol = profileConfig('local');
      const to = { ip: IP.a1, port: a1.bindPort };
      const udpBefore = await labelDrops(a1);
      for (const label of ['fleet-b', '', 'fleet-aa']) {
        const bytes = createMemberlistCodec(protocol, { label }).encodePacket([ping], false)[0] as Uint8Array;
        expect(await exchange(sock, to, bytes, 300)).toBeUndefined();
      }
      await until(async () => (await labelDrops(a1)) >= udpBefore + 3, 'datagrams counted as label drops');
      // The same ping with the right label is answered (so the socket itself works).
      const good = createMemberlistCodec(protocol, { label: 'fleet-a' });
      const reply = await exchange(sock, to, good.encodePacket([ping], false)[0] as Uint8Array, 2000);
      expect(reply).toBeDefined();
      expect(good.decodePacket(reply as Uint8Array)).toMatchObject({
        ok: true,
        messages: [{ type: 'ackResp', body: { seqNo: 9 } }],
      });
    } finally {
      sock.close();
    }

    for (const n of [a1, a2, a3]) expect(await names(n)).toEqual(fleetA);
    for (const n of [a1, a2, a3]) expect(allAlive(await n.members(), fleetA)).toBe(true);
    expect(await names(other)).toEqual(['lbl-b']);
    expect(await names(plain)).toEqual(['lbl-none']);
    await other.kill();
    await plain.kill();
  });

  it('with encryption the label is the additional data: a relabelled datagram fails with the right key', async () => {
    const e1 = await node('lbl-e1', IP.e1, ['--label=fleet-e', `--key=${KEY}`]);
    const e2 = await node('lbl-e2', IP.e2, ['--label=fleet-e', `--key=${KEY}`], [`${IP.e1}:${e1.bindPort}`]);
    await until(
      async () =>
        allAlive(await e1.members(), ['lbl-e1', 'lbl-e2']) &&
        allAlive(await e2.members(), ['lbl-e1', 'lbl-e2']),
      'encrypted fleet-e converged',
      35_000,
    );
    const parsed = parseKeyBase64(KEY);
    if (!parsed.ok) throw new Error(parsed.detail);
    const ring = Keyring.create([parsed.key]);
    if (!ring.ok) throw new Error(ring.detail);
    const protocol = profileConfig('local');
    const ping: Message = { type: 'ping', body: { seqNo: 11, node: 'lbl-e1' } };
    const to = { ip: IP.e1, port: e1.bindPort };
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, IP.probe, r));
    try {
      // Sealed under label "fleet-x", then the header rewritten to "fleet-e": the label check
      // passes, the tag does not (the label is authenticated).
      const forged = createMemberlistCodec(protocol, {
        label: 'fleet-x',
        keyring: ring.keyring,
      }).encodePacket([ping], false)[0] as Uint8Array;
      forged.set(Buffer.from('fleet-e'), 2);
      const decryptBefore = await labelDrops(e1, 'decrypt');
      expect(await exchange(sock, to, forged, 500)).toBeUndefined();
      await until(async () => (await labelDrops(e1, 'decrypt')) >= decryptBefore + 1, 'decrypt drop counted');
      const good = createMemberlistCodec(protocol, { label: 'fleet-e', keyring: ring.keyring });
      const reply = await exchange(sock, to, good.encodePacket([ping], false)[0] as Uint8Array, 2000);
      expect(good.decodePacket(reply as Uint8Array)).toMatchObject({
        ok: true,
        messages: [{ type: 'ackResp', body: { seqNo: 11 } }],
      });
    } finally {
      sock.close();
    }
    // A node with the right key but another label cannot join.
    const before = await labelDrops(e1);
    const wrong = await node(
      'lbl-e3',
      IP.b,
      ['--label=fleet-f', `--key=${KEY}`],
      [`${IP.e1}:${e1.bindPort}`],
    );
    await until(async () => (await labelDrops(e1)) >= before + 2, 'keyed but mislabelled join refused');
    expect(await names(wrong)).toEqual(['lbl-e3']);
    expect(await names(e1)).toEqual(['lbl-e1', 'lbl-e2']);
    await wrong.kill();
  });

  it('migration: with --label-migration an unlabelled and a labelled node form one cluster, encrypted', async () => {
    const m1 = await node('lbl-m1', IP.b, ['--label-migration', `--key=${KEY}`]);
    const m2 = await node(
      'lbl-m2',
      IP.none,
      ['--label=fleet-m', '--label-migration', `--key=${KEY}`],
      [`${IP.b}:${m1.bindPort}`],
    );
    const both = ['lbl-m1', 'lbl-m2'];
    await until(
      async () => allAlive(await m1.members(), both) && allAlive(await m2.members(), both),
      'mixed-label cluster converged',
      35_000,
    );
    expect((await labelDrops(m1)) + (await labelDrops(m2))).toBe(0);
    expect((await labelDrops(m1, 'decrypt')) + (await labelDrops(m2, 'decrypt'))).toBe(0);
    await m1.kill();
    await m2.kill();
  });

  it('a labelled node and a Go memberlist 0.2.2 peer do not join, either way, and both keep running', async () => {
    const go: GoPeer = await startGoPeer({ name: 'lbl-go', bind: IP.go, port: await freePort(IP.go) });
    nodes.push(go);
    const ts = await node('lbl-ts', IP.tsGo, ['--label=fleet-a'], [`${IP.go}:${go.port}`]);
    // ts → Go: Go 0.2.2 reads type 244 and closes the stream; ts retries.
    await ts.proc.waitForOutput(/no member answered; retrying/);
    // Go → ts: ts drops the unlabelled stream (label drop), the Go join fails.
    const before = await labelDrops(ts);
    await expect(go.join([`${IP.tsGo}:${ts.bindPort}`])).rejects.toThrow(/join failed/);
    await until(async () => (await labelDrops(ts)) >= before + 1, 'Go join counted as a label drop');
    expect(await names(ts)).toEqual(['lbl-ts']);
    expect(await names(go)).toEqual(['lbl-go']);
    expect(go.proc.exitCode).toBeNull();
    expect(ts.proc.proc.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${ts.httpPort}/healthz`)).status).toBe(200);
  });
});
