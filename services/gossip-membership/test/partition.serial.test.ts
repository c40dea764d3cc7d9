// A long network partition on real sockets, mixed cluster: 3 edgefleet nodes (the built service)
// and 3 Go memberlist 0.2.2 peers (support/go-peer), Local profile, on 127.0.0.2 … 127.0.0.7 inside a
// private network namespace made by this test (helpers/netns.ts; needs root). Each side of the cut
// has both implementations:
//   side A: ts-1 127.0.0.2, ts-2 127.0.0.3, go-1 127.0.0.4
//   side B: ts-3 127.0.0.5, go-2 127.0.0.6, go-3 127.0.0.7
// The fault layer is the kernel: tc on the namespace's lo silently drops every packet between the
// sides (UDP and TCP; each side's processes run under their own uid so that unbound TCP dials,
// which leave from 127.0.0.1, are recognisable too — see helpers/netns.ts).
// Flow: all six alive everywhere → cut → every node holds the other side dead → the cut is kept
// gossipToTheDeadTime longer (gossip to the dead has stopped, the dead are being reaped:
// memberlist alone would never heal from here) → heal → every node holds all six alive.
// The Go peers never reconnect; they come back through the edgefleet nodes' reconnect
// (src/protocol/reconnect.ts).
//
// Bound on heal → all alive everywhere, from the Local preset (see test/sim-partition.test.ts):
//   reconnectIntervalMs (first attempt) + probeTimeoutMs (follow-up) + 5 × probeIntervalMs.
// Fixed ports (7946 gossip, 4001 HTTP) are safe: the namespace is private to this test.

import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig } from '../src/protocol/config.js';
import { serviceEntry } from '../support/ts-node.js';
import { prepareInterop } from './helpers/interop-setup.js';
import { Netns } from './helpers/netns.js';

const CONFIG = localConfig();
const GOSSIP_PORT = 7946;
const HTTP_PORT = 4001;
const BOUND_MS = CONFIG.reconnectIntervalMs + CONFIG.probeTimeoutMs + 5 * CONFIG.probeIntervalMs;
/**
 * Failure detection bound: suspicion max (6 × 3 × 1 s = 18 s) plus a probe round. A cut half of
 * the cluster also raises every node's Lifeguard health score (its indirect probes through the
 * other side go unanswered), which stretches its probe period up to 8 × 1 s, so allow 2 × 18 s.
 * Typically ~5–25 s.
 */
const DEATH_MS = 2 * CONFIG.suspicionMaxTimeoutMult * CONFIG.suspicionMult * CONFIG.probeIntervalMs;

interface Node {
  name: string;
  ip: string;
  kind: 'ts' | 'go';
}
const SIDE_A: Node[] = [
  { name: 'ts-1', ip: '127.0.0.2', kind: 'ts' },
  { name: 'ts-2', ip: '127.0.0.3', kind: 'ts' },
  { name: 'go-1', ip: '127.0.0.4', kind: 'go' },
];
const SIDE_B: Node[] = [
  { name: 'ts-3', ip: '127.0.0.5', kind: 'ts' },
  { name: 'go-2', ip: '127.0.0.6', kind: 'go' },
  { name: 'go-3', ip: '127.0.0.7', kind: 'go' },
];
const ALL = [...SIDE_A, ...SIDE_B];
const membersUrl = (n: Node) => `http://${n.ip}:${HTTP_PORT}/${n.kind === 'ts' ? 'v1/members' : 'members'}`;

let ns: Netns | undefined;
let goBinary = '';

beforeAll(async () => {
  goBinary = await prepareInterop();
  ns = await Netns.create('ef-part');
  await ns.defineSides([SIDE_A.map((n) => n.ip), SIDE_B.map((n) => n.ip)]);
});
afterAll(() => ns?.destroySync());

/** Starts one node inside the namespace, joining `seeds`; resolves once its HTTP status answers. */
async function startNode(n: Node, seeds: readonly Node[]): Promise<void> {
  const join = seeds.map((s) => `${s.ip}:${GOSSIP_PORT}`).join(',');
  const side = { side: SIDE_A.includes(n) ? 0 : 1 };
  const net = ns as Netns;
  const proc =
    n.kind === 'ts'
      ? net.spawn(
          process.execPath,
          [
            serviceEntry,
            `-name=${n.name}`,
            `--bind=${n.ip}`,
            '-bindPort',
            String(GOSSIP_PORT),
            `--port=${HTTP_PORT}`,
            '-profile=local',
            ...(join ? [`-members=${join}`] : []),
          ],
          {
            ...(process.env as Record<string, string>),
            EDGEFLEET_HTTP_HOST: n.ip,
            EDGEFLEET_LOG_LEVEL: 'warn',
            EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:1',
            EDGEFLEET_JOIN_RETRY_MS: '500',
            HOME: '/tmp',
          },
          side,
        )
      : net.spawn(
          goBinary,
          [
            `-name=${n.name}`,
            `-bind=${n.ip}`,
            `-port=${GOSSIP_PORT}`,
            '-profile=local',
            `-http=${n.ip}:${HTTP_PORT}`,
            '-quiet',
            ...(join ? [`-join=${join}`] : []),
          ],
          {},
          side,
        );
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`${n.name} exited (${code}): ${out}`);
  });
  await Promise.race([
    exited,
    eventually(async () => (await net.fetchJson([membersUrl(n)]))[0] ?? false, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `${n.name} answers`,
    }),
  ]);
  exited.catch(() => undefined);
}

type Views = Map<string, Map<string, string>>;

async function views(): Promise<Views> {
  const bodies = await (ns as Netns).fetchJson(ALL.map(membersUrl));
  const out: Views = new Map();
  ALL.forEach((n, i) => {
    const body = bodies[i] as { members?: { name: string; state: string }[] } | null;
    out.set(n.name, new Map((body?.members ?? []).map((m) => [m.name, m.state])));
  });
  return out;
}

const allAlive = (v: Views) => ALL.every((o) => ALL.every((t) => v.get(o.name)?.get(t.name) === 'alive'));
const down = (s: string | undefined) => s === undefined || s === 'dead';
const split = (v: Views) =>
  SIDE_A.every((a) =>
    SIDE_B.every((b) => down(v.get(a.name)?.get(b.name)) && down(v.get(b.name)?.get(a.name))),
  );
const show = (v: Views) =>
  [...v].map(([o, m]) => `${o}: ${[...m].map(([t, s]) => `${t}=${s}`).join(' ')}`).join('\n');

async function waitFor(what: string, cond: (v: Views) => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last: Views | undefined;
  try {
    await eventually(
      async () => {
        last = await views();
        return cond(last);
      },
      { timeoutMs, intervalMs: 100, what },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${last ? show(last) : 'no views'}`);
  }
  return Date.now() - t0;
}

describe('long partition on real sockets (network namespace, tc), mixed cluster', {
  timeout: 150_000,
}, () => {
  it('both sides mark the other dead; after healing all six are alive everywhere within the bound', async () => {
    const net = ns as Netns;
    // One after the other, each joining every node started before it: a join is a push/pull with
    // each seed, so every pair has exchanged full state and nothing depends on gossip (whose
    // broadcasts can die out with the Local retransmit limit; a push/pull interval then repairs
    // them, hence the bound of two, as in interop.serial.test.ts).
    for (const [i, n] of ALL.entries()) await startNode(n, ALL.slice(0, i));
    const convergeMs = await waitFor('all six alive everywhere', allAlive, 2 * CONFIG.pushPullIntervalMs);

    const cutAt = Date.now();
    await net.partition();
    const deadMs = await waitFor('each side holds the other dead', split, DEATH_MS);
    // Keep the cut gossipToTheDeadTime past the last death (+ 2 probe periods): no gossip to the
    // dead is left, and nodes reap them.
    // Checked all along: nothing crosses the cut (no reconnect or push/pull gets through).
    const holdUntil = Date.now() + CONFIG.gossipToTheDeadTimeMs + 2 * CONFIG.probeIntervalMs;
    while (Date.now() < holdUntil) {
      const held = await views();
      expect(split(held), `the cut leaked:\n${show(held)}`).toBe(true);
      await delay(500);
    }
    const dropped = await net.dropped();
    expect(dropped).toBeGreaterThan(0);
    const cutMs = Date.now() - cutAt;
    expect(cutMs).toBeGreaterThan(CONFIG.gossipToTheDeadTimeMs);

    await net.heal();
    const healMs = await waitFor('all six alive everywhere after the heal', allAlive, BOUND_MS);
    // Nobody falls back to dead afterwards: still all alive a few probe periods later.
    const t = Date.now();
    while (Date.now() - t < 3 * CONFIG.probeIntervalMs) {
      const v = await views();
      expect(allAlive(v), `somebody fell back:\n${show(v)}`).toBe(true);
      await delay(250);
    }
    console.info(
      `real sockets (3 edgefleet + 3 Go, 3|3 cut): converged ${convergeMs} ms after start; ` +
        `other side dead ${deadMs} ms after the cut; cut held ${cutMs} ms (${dropped} packets dropped); ` +
        `heal → all alive everywhere ${healMs} ms (push/pull interval ${CONFIG.pushPullIntervalMs} ms, ` +
        `bound ${BOUND_MS} ms)`,
    );
    expect(healMs).toBeLessThanOrEqual(BOUND_MS);
  });
});
