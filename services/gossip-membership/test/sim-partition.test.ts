// A long full partition on the simulated network (helpers/sim-scale.ts), Local timings: the cluster
// is cut in two, each side declares the other dead, the cut outlasts gossipToTheDeadTime (so
// gossip to the dead has stopped and the dead are reaped), then it heals. With reconnect
// (reconnect.ts) every node sees every node alive again within about one reconnect period; without
// it the two halves stay apart for good (memberlist's behaviour). Nodes marked `plain` run with
// reconnect off, standing in for Go memberlist peers that never reconnect themselves: they come
// back through the others.
//
// Bound after the heal, from the config (not from observed values):
//   reconnectIntervalMs   the first reconnect attempt: each node's loop runs at a random phase,
//                         so the first attempt after the heal comes within one period
// + probeTimeoutMs        the follow-up push/pull carrying both refutations
// + 5 × probeIntervalMs   the rest spreads by gossip (100 ms rounds) and, where one side held a
//                         third node dead at its current incarnation, by the merge's Dead → suspect
//                         rule and that node's refutation (a probe or two) — 5 probe periods of slack.
import { describe, expect, it } from 'vitest';
import { localConfig, type ProtocolConfig } from '../src/protocol/config.js';
import { ScaleSim } from '../support/sim-scale.js';

const CONFIG = localConfig();
const BOUND_MS = CONFIG.reconnectIntervalMs + CONFIG.probeTimeoutMs + 5 * CONFIG.probeIntervalMs;

interface Run {
  /** Every node of each side holds every node of the other side dead (or reaped), ms after the cut. */
  allDeadMs: number | undefined;
  /** Heal → every node holds every node alive, ms (undefined: not within the run). */
  healedMs: number | undefined;
  /** After healedMs plus two push/pull intervals: still everyone alive everywhere. */
  stable: boolean;
  attempts: number;
  views: string;
}

/**
 * Six nodes warm-started as one cluster; at 2 s nodes `sideB` are cut from the rest. The cut lasts
 * until every node has the other side dead, plus `holdMs`. `plain` nodes have reconnect off.
 */
function run(o: {
  seed: number;
  n?: number;
  sideB?: number[];
  plain?: number[];
  holdMs: number;
  reconnect?: boolean;
  afterHealMs?: number;
}): Run {
  const n = o.n ?? 6;
  const sideB = o.sideB ?? [3, 4, 5];
  const plain = new Set(o.plain ?? []);
  const on: ProtocolConfig = o.reconnect === false ? { ...CONFIG, reconnectIntervalMs: 0 } : CONFIG;
  const off: ProtocolConfig = { ...CONFIG, reconnectIntervalMs: 0 };
  const sim = new ScaleSim({ seed: o.seed, config: on, nodeConfig: (i) => (plain.has(i) ? off : on) });
  sim.addNodes(n);
  const ids = Array.from({ length: n }, (_, i) => i);
  sim.startWarm(ids);
  const side = (i: number) => (sideB.includes(i) ? 1 : 0);
  const state = (o: number, t: number) => sim.engines[o]?.node(sim.names[t] as string)?.state;
  const allSeeAllAlive = () => ids.every((a) => ids.every((b) => state(a, b) === 'alive'));
  const splitComplete = () =>
    ids.every((a) =>
      ids.every((b) => side(a) === side(b) || state(a, b) === 'dead' || state(a, b) === undefined),
    );

  sim.runUntil(2_000);
  const cutAt = sim.now;
  sim.partition([sideB]);
  let allDeadAt: number | undefined;
  while (sim.now < cutAt + 120_000 && allDeadAt === undefined) {
    sim.runFor(50);
    if (splitComplete()) allDeadAt = sim.now;
  }
  if (allDeadAt === undefined) throw new Error('the sides never declared each other dead');
  sim.runUntil(allDeadAt + o.holdMs);
  const healAt = sim.now;
  sim.heal();
  let healedAt: number | undefined;
  const limit = healAt + (o.afterHealMs ?? 3 * CONFIG.pushPullIntervalMs);
  while (sim.now < limit && healedAt === undefined) {
    sim.runFor(50);
    if (allSeeAllAlive()) healedAt = sim.now;
  }
  let stable = false;
  if (healedAt !== undefined) {
    stable = true;
    const end = sim.now + 2 * CONFIG.pushPullIntervalMs;
    while (sim.now < end && stable) {
      sim.runFor(250);
      stable = allSeeAllAlive();
    }
  }
  const views = ids
    .map((a) => `${sim.names[a]}: ${ids.map((b) => `${b}=${state(a, b) ?? '-'}`).join(' ')}`)
    .join('\n');
  let attempts = 0;
  for (const e of sim.engines) attempts += e?.reconnectAttempts ?? 0;
  return {
    allDeadMs: allDeadAt - cutAt,
    healedMs: healedAt === undefined ? undefined : healedAt - healAt,
    stable,
    attempts,
    views,
  };
}

describe('long partition on the simulated network (Local timings)', () => {
  // Cut held gossipToTheDeadTime past the last death (+ 3 probe periods for the reap, which runs
  // when a node's probe list wraps): every dead node is reaped on both sides. And a cut released
  // just after gossipToTheDeadTime: some nodes have reaped, some still hold the other side dead.
  const reaped = CONFIG.gossipToTheDeadTimeMs + 3 * CONFIG.probeIntervalMs;
  const midway = CONFIG.gossipToTheDeadTimeMs - 2 * CONFIG.probeIntervalMs;

  it('both sides mark each other dead; after the heal everyone is alive everywhere within the bound', () => {
    const times: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      for (const holdMs of [reaped, midway]) {
        const r = run({ seed, holdMs });
        expect(r.allDeadMs, r.views).toBeDefined();
        expect(r.healedMs, `seed ${seed} hold ${holdMs}\n${r.views}`).toBeDefined();
        expect(r.healedMs as number).toBeLessThanOrEqual(BOUND_MS);
        expect(r.stable, `seed ${seed}: somebody fell back to dead\n${r.views}`).toBe(true);
        times.push(r.healedMs as number);
      }
    }
    console.info(
      `sim heal→all alive (6 nodes, 3|3): ${times.join(', ')} ms; max ${Math.max(...times)} ms, ` +
        `bound ${BOUND_MS} ms, push/pull interval ${CONFIG.pushPullIntervalMs} ms`,
    );
  });

  it('mixed cluster: nodes with reconnect off (like Go memberlist) come back alive through the others', () => {
    const times: number[] = [];
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      for (const holdMs of [reaped, midway]) {
        // each side: two reconnecting nodes and one plain one … and a side with only one reconnecting node
        for (const plain of [
          [2, 5],
          [1, 2, 4, 5],
        ]) {
          const r = run({ seed, holdMs, plain });
          expect(r.healedMs, `seed ${seed} hold ${holdMs} plain ${plain}\n${r.views}`).toBeDefined();
          expect(r.healedMs as number).toBeLessThanOrEqual(BOUND_MS);
          expect(r.stable, `seed ${seed}\n${r.views}`).toBe(true);
          times.push(r.healedMs as number);
        }
      }
    }
    console.info(
      `sim mixed heal→all alive: ${times.join(', ')} ms; max ${Math.max(...times)} ms, bound ${BOUND_MS} ms`,
    );
  });

  it('a larger cluster (24 nodes, 8 cut off, a third without reconnect) heals within the same bound', () => {
    const r = run({
      seed: 21,
      n: 24,
      sideB: [16, 17, 18, 19, 20, 21, 22, 23],
      plain: [0, 3, 6, 9, 12, 15, 18, 21],
      holdMs: reaped,
    });
    expect(r.healedMs, r.views).toBeDefined();
    expect(r.healedMs as number).toBeLessThanOrEqual(BOUND_MS);
    expect(r.stable).toBe(true);
    console.info(`sim 24 nodes (16|8) heal→all alive: ${r.healedMs} ms`);
  });

  it('with reconnect off everywhere the halves stay apart (memberlist alone never heals)', () => {
    for (const seed of [1, 2]) {
      const r = run({ seed, holdMs: reaped, reconnect: false, afterHealMs: 4 * CONFIG.pushPullIntervalMs });
      expect(r.healedMs, r.views).toBeUndefined();
      expect(r.attempts).toBe(0);
    }
  });
});
