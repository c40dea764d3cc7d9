// Gossip key rotation on a RUNNING mixed cluster, without downtime: two of our nodes (one keeps its
// keyring in a file, one has an API token) and two Go memberlist 0.2.2 peers, all on key A, rotate
// to key B with install → use → remove on every node through their HTTP APIs while every node's
// view is polled: nobody is ever seen suspect, dead or missing, and no packet fails to decrypt.
// Afterwards a node with only the old key cannot join, one with only the new key can; the API's
// errors on a real process; a restart of the node with the keyring file keeps the rotated keyring.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@edgefleet/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../src/keyring/keyring-admin.js';
import { type GoPeer, startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode, until } from '../support/ts-node.js';
import { useInteropNodes } from './helpers/interop-setup.js';

const IP = {
  ts1: '127.0.0.121',
  ts2: '127.0.0.122',
  go1: '127.0.0.123',
  go2: '127.0.0.124',
  oldKey: '127.0.0.125',
  newKey: '127.0.0.126',
  tsNew: '127.0.0.127',
};
const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const a64 = A.toString('base64');
const b64 = B.toString('base64');
const TOKEN = 'rotation-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'keyring-rotation-'));
const ringFile = join(dir, 'keyring.json');
const nodes = useInteropNodes();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const post = (n: TsNode, path: string, body: string, token?: string) =>
  fetch(`http://127.0.0.1:${n.httpPort}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
const keyringOf = async (n: TsNode) =>
  (await (await fetch(`http://127.0.0.1:${n.httpPort}/v1/keyring`)).json()) as {
    primary: string;
    keys: string[];
  };
const dropsOf = async (n: TsNode, reason: string) =>
  Number(
    new RegExp(`^gossip_dropped_packets_total\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(
      await n.metrics(),
    )?.[1] ?? 0,
  );

describe('key rotation on a running mixed cluster', { timeout: 120_000 }, () => {
  let ts1: TsNode;
  let ts2: TsNode;
  let go1: GoPeer;
  let go2: GoPeer;
  let ts1Ports: { bindPort: number; httpPort: number };
  const names = ['kr-ts1', 'kr-ts2', 'kr-go1', 'kr-go2'];
  const startTs1 = async () => {
    ts1 = await startTsNode({
      name: 'kr-ts1',
      ip: IP.ts1,
      ...ts1Ports,
      // The file is the keyring once it exists: the --key given here does not come back after a rotation.
      extraArgs: [`--keyring-file=${ringFile}`, `--key=${a64}`],
    });
    nodes.push(ts1);
  };

  it('four nodes on key A converge', async () => {
    writeFileSync(ringFile, JSON.stringify([a64]));
    ts1Ports = { bindPort: await freePort(IP.ts1), httpPort: await freePort() };
    await startTs1();
    const seed = `${IP.ts1}:${ts1.bindPort}`;
    ts2 = await startTsNode({
      name: 'kr-ts2',
      ip: IP.ts2,
      bindPort: await freePort(IP.ts2),
      httpPort: await freePort(),
      members: [seed],
      extraArgs: [`--key=${a64}`],
      env: { EDGEFLEET_API_TOKEN: TOKEN },
    });
    nodes.push(ts2);
    go1 = await startGoPeer({
      name: 'kr-go1',
      bind: IP.go1,
      port: await freePort(IP.go1),
      join: [seed],
      key: a64,
    });
    nodes.push(go1);
    go2 = await startGoPeer({
      name: 'kr-go2',
      bind: IP.go2,
      port: await freePort(IP.go2),
      join: [seed],
      key: a64,
    });
    nodes.push(go2);
    const views = () => [ts1, ts2, go1, go2].map((n) => n.members());
    await until(
      async () =>
        (await Promise.all(views())).every((v) =>
          names.every((x) => v.some((m) => m.name === x && m.state === 'alive')),
        ),
      'all four alive everywhere',
      35_000,
    );
  });

  it('install → use → remove on every node, with every view alive throughout', async () => {
    const ts = [
      { node: ts1, token: undefined },
      { node: ts2, token: TOKEN },
    ];
    const gos = [go1, go2];
    const decryptBefore = (await Promise.all([ts1, ts2].map((n) => dropsOf(n, 'decrypt')))).reduce(
      (a, b) => a + b,
    );
    // Poll every node's view every 100 ms for the whole rotation; record anything not alive.
    const bad: string[] = [];
    let polls = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const views = await Promise.all([ts1, ts2, go1, go2].map((n) => n.members()));
        views.forEach((v, i) => {
          for (const x of names) {
            const m = v.find((y) => y.name === x);
            if (m?.state !== 'alive') bad.push(`${names[i]} saw ${x} ${m?.state ?? 'missing'}`);
          }
        });
        polls++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // After each phase, traffic flows for a few probe rounds (Local profile: 1 s) before the next.
    const settle = async () => {
      const target = polls + 25;
      await until(async () => polls >= target, 'a few probe rounds observed', 20_000);
    };
    try {
      for (const op of ['install', 'use', 'remove'] as const) {
        const key = op === 'remove' ? a64 : b64;
        for (const { node, token } of ts) {
          const res = await post(node, `/v1/keyring/${op}`, JSON.stringify({ key }), token);
          expect(res.status, `${op} on ${node.name}`).toBe(200);
        }
        for (const g of gos) await g.keyring(op, key);
        await settle();
      }
    } finally {
      polling = false;
      await poller;
    }
    expect(bad).toEqual([]);
    expect(polls).toBeGreaterThan(50);
    const decryptAfter = (await Promise.all([ts1, ts2].map((n) => dropsOf(n, 'decrypt')))).reduce(
      (a, b) => a + b,
    );
    expect(decryptAfter).toBe(decryptBefore);
    for (const n of [ts1, ts2])
      expect(await keyringOf(n)).toEqual(
        expect.objectContaining({ primary: fingerprint(B), keys: [fingerprint(B)] }),
      );
    // (installing an installed key is a no-op that answers the ring)
    for (const g of gos)
      expect(await g.keyring('install', b64)).toEqual({ primary: fingerprint(B), keys: [fingerprint(B)] });
    expect(JSON.parse(readFileSync(ringFile, 'utf8'))).toEqual([b64]);
  });

  it('afterwards a node with only the old key cannot join; one with only the new key can', async () => {
    const seed = `${IP.ts1}:${ts1.bindPort}`;
    const before = await dropsOf(ts1, 'decrypt');
    await expect(
      startGoPeer({
        name: 'kr-old',
        bind: IP.oldKey,
        port: await freePort(IP.oldKey),
        join: [seed],
        key: a64,
      }),
    ).rejects.toThrow(/join/);
    await until(
      async () => (await dropsOf(ts1, 'decrypt')) > before,
      'old-key join counted as a decrypt drop',
    );
    const fresh = await startGoPeer({
      name: 'kr-new',
      bind: IP.newKey,
      port: await freePort(IP.newKey),
      join: [seed],
      key: b64,
    });
    nodes.push(fresh);
    const tsNew = await startTsNode({
      name: 'kr-ts-new',
      ip: IP.tsNew,
      bindPort: await freePort(IP.tsNew),
      httpPort: await freePort(),
      members: [`${IP.go1}:${go1.port}`],
      extraArgs: [`--key=${b64}`],
    });
    nodes.push(tsNew);
    const all = [...names, 'kr-new', 'kr-ts-new'];
    await until(
      async () =>
        (await Promise.all([ts1, ts2, go1, tsNew, fresh].map((n) => n.members()))).every((v) =>
          all.every((x) => v.some((m) => m.name === x && m.state === 'alive')),
        ),
      'new-key nodes joined',
      35_000,
    );
    expect((await ts1.members()).some((m) => m.name === 'kr-old')).toBe(false);
  });

  it('API errors on the running node are coded 4xx and change nothing', async () => {
    const cases: [string, string, string | undefined, number, string][] = [
      ['install', '{"key":', undefined, 400, 'INVALID_JSON'],
      ['install', JSON.stringify({ nokey: 1 }), undefined, 400, 'BAD_REQUEST'],
      ['install', JSON.stringify({ key: 'not base64 at all!' }), undefined, 400, 'BAD_KEY'],
      ['install', JSON.stringify({ key: Buffer.alloc(20, 1).toString('base64') }), undefined, 400, 'BAD_KEY'],
      ['use', JSON.stringify({ key: a64 }), undefined, 404, 'KEY_NOT_INSTALLED'],
      ['remove', JSON.stringify({ key: b64 }), undefined, 409, 'REMOVE_PRIMARY'],
    ];
    for (const [op, body, , status, code] of cases) {
      const res = await post(ts1, `/v1/keyring/${op}`, body);
      expect(res.status, `${op} ${body}`).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    // ts2 requires its token: without it, or with a wrong one, 401 and nothing changes.
    for (const token of [undefined, 'wrong-token-wrong-token']) {
      const res = await post(ts2, '/v1/keyring/install', JSON.stringify({ key: a64 }), token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    expect((await keyringOf(ts1)).keys).toEqual([fingerprint(B)]);
    expect((await keyringOf(ts2)).keys).toEqual([fingerprint(B)]);
  });

  it('a restart of the node with the keyring file keeps the rotated keyring and rejoins', async () => {
    expect(await ts1.stop()).toBe(0);
    await startTs1();
    expect(await keyringOf(ts1)).toMatchObject({ primary: fingerprint(B), keys: [fingerprint(B)] });
    expect(ts1.proc.output()).toMatch(/the keyring file is the keyring/);
    // It starts without seeds: a join from go1 brings it back.
    await go1.join([`${IP.ts1}:${ts1.bindPort}`]);
    await until(
      async () => {
        const view = await ts1.members();
        return names.every((x) => view.some((m) => m.name === x && m.state === 'alive'));
      },
      'restarted node back in the cluster',
      35_000,
    );
  });
});
