// Departed members on real sockets, mixed cluster: 2 Go memberlist 0.2.2 peers (support/go-peer) and 3
// of our nodes (the built service), Local profile, with a shortened retention. Flow:
//   go-1 ← ts-a, go-2, ts-b, ts-v join → all five alive everywhere
//   → ts-v killed with SIGKILL (no leave): dead on ts-a and ts-b, then reaped from every member table
//     after gossipToTheDeadTime (the Go peers forget it: the protocol is memberlist's);
//   → ts-b (an observer) restarted: it lists ts-v again from its own saved record (Redis), before any
//     edgefleet peer could have told it (its merge counter is still 0);
//   → ts-d, a node of ours that never saw ts-v, joins: it lists ts-v, learnt from the push/pull
//     user state;
//   → all along, until the retention is nearly over, every running node of ours lists ts-v as dead;
//   → ts-v comes back under its name: it leaves the departed list on every node of ours.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig } from '../src/protocol/config.js';
import { startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode, until } from '../support/ts-node.js';
import { prepareInterop } from './helpers/interop-setup.js';

const IP = {
  go1: '127.0.0.61',
  go2: '127.0.0.62',
  a: '127.0.0.63',
  b: '127.0.0.64',
  v: '127.0.0.65',
  d: '127.0.0.66',
};
/** Retention in this test; the protocol reaps after gossipToTheDeadTime (15 s Local), well before. */
const RETENTION_MS = 50_000;
const REAP_MS = localConfig().gossipToTheDeadTimeMs;
/** Failure detection bound in the Local profile (suspicion max 6 × 3 × 1 s, plus a probe round). */
const DEATH_MS = 25_000;
// A node that misses a join's gossip learns of it through the next push/pull (every 15 s in the
// Local profile), so waiting for a full cluster allows more than one push/pull interval.
const JOIN_MS = 40_000;

interface ApiMember {
  name: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
  lastChange: string;
  gone?: boolean;
  declaredBy?: string;
}

let redis: RedisServer;
let dir: string;
const started: { kill(): Promise<unknown> }[] = [];
const prefix = `departed${process.pid}`;

beforeAll(async () => {
  await prepareInterop();
  redis = await startRedisServer({ aof: false });
  dir = mkdtempSync(join(tmpdir(), 'departed-serial-'));
}, 240_000); // the first run builds the Go peer
afterAll(async () => {
  await Promise.all(started.map((n) => n.kill().catch(() => undefined)));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function list(n: TsNode, query = ''): Promise<ApiMember[]> {
  const r = await fetch(`http://127.0.0.1:${n.httpPort}/v1/members${query}`);
  return ((await r.json()) as { members: ApiMember[] }).members;
}
const find = async (n: TsNode, name: string) => (await list(n)).find((m) => m.name === name);
const counter = async (n: TsNode, metric: string): Promise<number> => {
  const m = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(await n.metrics());
  if (!m) throw new Error(`${n.name}: no ${metric} in /metrics`);
  return Number(m[1]);
};

describe('departed members in a mixed cluster', { timeout: 180_000 }, () => {
  it('keep a killed node listed on every node of ours for the retention, across a restart and for a late joiner, until it returns', async () => {
    const ports = {
      a: { bindPort: await freePort(IP.a), httpPort: await freePort() },
      b: { bindPort: await freePort(IP.b), httpPort: await freePort() },
      v: { bindPort: await freePort(IP.v), httpPort: await freePort() },
      d: { bindPort: await freePort(IP.d), httpPort: await freePort() },
    };
    const env = (who: string, store: 'redis' | 'file'): Record<string, string> => ({
      EDGEFLEET_GOSSIP_DEAD_RETENTION: `${RETENTION_MS}ms`,
      ...(store === 'redis'
        ? { EDGEFLEET_REDIS_URL: redis.url, EDGEFLEET_REDIS_PREFIX: `${prefix}${who}` }
        : { EDGEFLEET_GOSSIP_DEPARTED_FILE: join(dir, `${who}.json`) }),
    });
    const go1 = await startGoPeer({ name: 'go-1', bind: IP.go1, port: await freePort(IP.go1) });
    started.push(go1);
    const seedGo = `${IP.go1}:${go1.port}`;
    const a = await startTsNode({
      name: 'ts-a',
      ip: IP.a,
      ...ports.a,
      members: [seedGo],
      env: env('a', 'redis'),
    });
    started.push(a);
    const go2 = await startGoPeer({
      name: 'go-2',
      bind: IP.go2,
      port: await freePort(IP.go2),
      join: [`${IP.a}:${a.bindPort}`],
    });
    started.push(go2);
    const startB = () =>
      startTsNode({ name: 'ts-b', ip: IP.b, ...ports.b, members: [seedGo], env: env('b', 'redis') });
    let b = await startB();
    started.push(b);
    const startV = () =>
      startTsNode({
        name: 'ts-v',
        ip: IP.v,
        ...ports.v,
        members: [`${IP.a}:${a.bindPort}`],
        env: env('v', 'file'),
      });
    const v = await startV();
    started.push(v);
    const names = ['go-1', 'go-2', 'ts-a', 'ts-b', 'ts-v'];
    for (const n of [a, b])
      await until(
        async () => (await list(n)).filter((m) => names.includes(m.name) && m.state === 'alive').length === 5,
        `${n.name} sees all five alive`,
        JOIN_MS,
      );
    await until(
      async () => (await go1.members()).filter((m) => m.state === 'alive').length === 5,
      'go-1 sees all five alive',
      JOIN_MS,
    );

    // ts-v dies without a word.
    await v.kill();
    const deadOn = async (n: TsNode) => (await find(n, 'ts-v'))?.state === 'dead';
    await until(async () => (await deadOn(a)) && (await deadOn(b)), 'ts-v dead on ts-a and ts-b', DEATH_MS);
    const declared = Date.parse((await find(a, 'ts-v'))?.lastChange ?? '');
    expect(Number.isFinite(declared)).toBe(true);
    // Peers may keep an earlier declaration of the same death (departed-record.ts `newer`): a few
    // seconds of margin before the retention ends.
    const windowEnd = declared + RETENTION_MS - 8_000;

    // From now until the retention is nearly over, every running node of ours lists ts-v as dead.
    const running = new Map<string, TsNode>([
      ['ts-a', a],
      ['ts-b', b],
    ]);
    const misses: string[] = [];
    const goneSeen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching && Date.now() < windowEnd) {
        for (const [name, n] of running) {
          let m: ApiMember | undefined;
          try {
            m = await find(n, 'ts-v');
          } catch {
            continue; // restarting: not answering is not a miss
          }
          if (m?.state !== 'dead')
            misses.push(`${name} at +${Date.now() - declared} ms: ${m?.state ?? 'missing'}`);
          else if (m.gone) goneSeen.add(name);
        }
        await delay(500);
      }
    })();

    // The protocol reaps it: the Go peers forget it, and our nodes show it from the record.
    await until(
      async () => (await go1.stateOf('ts-v')) === undefined && (await go2.stateOf('ts-v')) === undefined,
      'ts-v reaped by the Go peers',
      REAP_MS + 20_000,
    );
    await until(
      async () => (await find(b, 'ts-v'))?.gone === true,
      'ts-v reaped from the table of ts-b',
      20_000,
    );

    // Restart the observer ts-b: it lists ts-v from its own saved record.
    running.delete('ts-b');
    expect(await b.stop()).toBe(0);
    b = await startB();
    started.push(b);
    // (The saved record is read in the background, so the first answers may come before it.)
    await until(
      async () => (await find(b, 'ts-v'))?.gone === true,
      'ts-b lists ts-v after its restart',
      5_000,
    );
    const afterRestart = await find(b, 'ts-v');
    expect(afterRestart).toMatchObject({ state: 'dead', gone: true });
    expect(Math.abs(Date.parse(afterRestart?.lastChange ?? '') - declared)).toBeLessThan(5_000);
    // Not from a peer: nothing was merged from any edgefleet node's user state since the restart.
    expect(await counter(b, 'gossip_departed_merged_total')).toBe(0);
    running.set('ts-b', b);

    // A node that never saw ts-v joins (through ts-a) and lists it too, learnt from its peers.
    const d = await startTsNode({
      name: 'ts-d',
      ip: IP.d,
      ...ports.d,
      members: [`${IP.a}:${a.bindPort}`],
      env: env('d', 'file'),
    });
    started.push(d);
    await until(async () => (await find(d, 'ts-v'))?.state === 'dead', 'ts-d lists ts-v', 10_000);
    expect(await counter(d, 'gossip_departed_merged_total')).toBeGreaterThanOrEqual(1);
    running.set('ts-d', d);
    const onD = await find(d, 'ts-v');
    expect(onD).toMatchObject({ gone: true });
    expect(['go-1', 'go-2', 'ts-a', 'ts-b']).toContain(onD?.declaredBy);

    await watcher;
    watching = false;
    expect(misses).toEqual([]);
    expect([...goneSeen].sort()).toEqual(['ts-a', 'ts-b', 'ts-d']);
    expect(Date.now()).toBeLessThan(declared + RETENTION_MS);

    // ts-v comes back under its name: it leaves the departed list everywhere.
    const back = await startV();
    started.push(back);
    for (const n of [a, b, d])
      await until(
        async () =>
          (await find(n, 'ts-v'))?.state === 'alive' &&
          !(await list(n, '?state=dead,left')).some((m) => m.name === 'ts-v'),
        `ts-v alive and not departed on ${n.name}`,
        15_000,
      );
  });
});
