// Whole-cluster behaviour on the seeded simulated network (test/helpers/sim-network.ts), LAN
// timings (1 s probe interval, 500 ms probe timeout, suspicion 4 s min / 24 s max for n = 10,
// GossipToTheDeadTime 30 s). One-way delay 1–5 ms unless stated.
import { describe, expect, it } from 'vitest';
import { lanConfig, localConfig, type ProtocolConfig, wanConfig } from '../src/protocol/config.js';
import { suspicionTimeout } from '../src/protocol/math.js';
import { type LoggedEvent, SimNetwork } from './helpers/sim-network.js';

const N = 10;
const names = Array.from({ length: N }, (_, i) => `node-${i}`);
const PROBE = lanConfig().probeIntervalMs;
const SUSPICION_MIN = suspicionTimeout(lanConfig().suspicionMult, N, PROBE); // 4000 ms

/** Starts N nodes, each joining node-0, 100 ms apart; returns the time all views were complete. */
function bootCluster(sim: SimNetwork): number {
  sim.start('node-0');
  for (const name of names.slice(1)) {
    sim.runFor(100);
    sim.start(name, ['node-0']);
  }
  const converged = sim.runUntilTrue(() => allSee(sim, names, names, 'alive'), 30_000, 10);
  expect(converged).toBeDefined();
  return converged as number;
}

function allSee(sim: SimNetwork, observers: string[], targets: string[], state: string): boolean {
  return observers.every((o) => targets.every((t) => sim.stateOf(o, t) === state));
}

function eventsAbout(sim: SimNetwork, node: string, kind: LoggedEvent['kind'], after = 0): LoggedEvent[] {
  return sim.events.filter((e) => e.node === node && e.kind === kind && e.time >= after);
}

const others = (name: string) => names.filter((n) => n !== name);

describe('simulated cluster (LAN timings)', () => {
  it('10 nodes joining one seed converge', () => {
    const sim = new SimNetwork({ seed: 1 });
    const t = bootCluster(sim);
    // The last node joined at 0.9 s; its alive reaches everyone by gossip within a few rounds.
    expect(t).toBeLessThan(3_000);
    for (const o of names) expect(sim.engine(o).members()).toHaveLength(N);
    // Nobody was ever suspected while joining.
    expect(sim.events.filter((e) => e.kind === 'suspect' || e.kind === 'dead')).toEqual([]);
  });

  it('a crashed node is suspected, then declared dead by every other node', () => {
    const sim = new SimNetwork({ seed: 2 });
    bootCluster(sim);
    sim.runFor(5_000);
    const t0 = sim.now;
    sim.crash('node-4');
    const done = sim.runUntilTrue(() => allSee(sim, others('node-4'), ['node-4'], 'dead'), 60_000, 10);
    expect(done).toBeDefined();
    const suspects = eventsAbout(sim, 'node-4', 'suspect', t0);
    const deaths = eventsAbout(sim, 'node-4', 'dead', t0);
    const firstSuspect = Math.min(...suspects.map((e) => e.time));
    const firstDead = Math.min(...deaths.map((e) => e.time));
    const lastDead = Math.max(...deaths.map((e) => e.time));
    expect(deaths.map((e) => e.observer).sort()).toEqual(others('node-4').sort());
    // Nine probers each visit node-4 once per round: the first failed probe comes within a few
    // probe periods (a probe already in flight at the crash can fail sooner).
    expect(firstSuspect - t0).toBeGreaterThan(0);
    expect(firstSuspect - t0).toBeLessThanOrEqual(4 * PROBE);
    // Nobody declares death before the minimum suspicion timeout has run on the first accuser.
    expect(firstDead - firstSuspect).toBeGreaterThanOrEqual(SUSPICION_MIN);
    // Confirmations from k = 2 other accusers bring it down to the minimum, not the 24 s maximum;
    // the dead message then spreads by gossip.
    expect(firstDead - firstSuspect).toBeLessThan(SUSPICION_MIN + 3 * PROBE);
    expect(lastDead - firstDead).toBeLessThan(PROBE);
  });

  it('a node that leaves is seen as left (not dead) and reaped after GossipToTheDeadTime', () => {
    const sim = new SimNetwork({ seed: 3 });
    bootCluster(sim);
    sim.runFor(2_000);
    const t0 = sim.now;
    sim.leave('node-7');
    const seen = sim.runUntilTrue(() => allSee(sim, others('node-7'), ['node-7'], 'left'), 10_000, 10);
    expect(seen).toBeDefined();
    expect((seen as number) - t0).toBeLessThan(PROBE);
    sim.runFor(1_000);
    sim.crash('node-7');
    sim.runFor(lanConfig().gossipToTheDeadTimeMs + 15 * PROBE);
    expect(eventsAbout(sim, 'node-7', 'dead')).toEqual([]);
    const leftObservers = eventsAbout(sim, 'node-7', 'left')
      .map((e) => e.observer)
      .filter((o) => o !== 'node-7');
    expect(leftObservers.sort()).toEqual(others('node-7').sort());
    for (const o of others('node-7')) expect(sim.engine(o).node('node-7')).toBeUndefined();
  });

  it('a node restarted under the same name refutes its old death and comes back alive', () => {
    const sim = new SimNetwork({ seed: 4 });
    bootCluster(sim);
    sim.crash('node-2');
    expect(sim.runUntilTrue(() => allSee(sim, others('node-2'), ['node-2'], 'dead'), 60_000)).toBeDefined();
    const deadInc = sim.engine('node-0').node('node-2')?.incarnation ?? -1;
    const t0 = sim.now;
    const fresh = sim.start('node-2', ['node-5']);
    expect(fresh.localNode().incarnation).toBe(1);
    const back = sim.runUntilTrue(() => allSee(sim, names, names, 'alive'), 10_000, 10);
    expect(back).toBeDefined();
    expect((back as number) - t0).toBeLessThan(2 * PROBE);
    expect(fresh.localNode().incarnation).toBeGreaterThan(deadInc);
    for (const o of others('node-2'))
      expect(sim.engine(o).node('node-2')?.incarnation).toBe(fresh.localNode().incarnation);
    expect(eventsAbout(sim, 'node-2', 'join', t0).length).toBeGreaterThanOrEqual(N - 1);
  });

  it('a falsely suspected live node refutes and nobody declares it dead', () => {
    const sim = new SimNetwork({ seed: 5 });
    bootCluster(sim);
    sim.runFor(2_000);
    const t0 = sim.now;
    const inc = sim.engine('node-3').localNode().incarnation;
    sim.inject('node-8', 'node-1', [
      { type: 'suspect', body: { incarnation: inc, node: 'node-3', from: 'node-1' } },
    ]);
    expect(sim.stateOf('node-8', 'node-3')).toBe('suspect');
    const refuted = sim.runUntilTrue(
      () => allSee(sim, names, ['node-3'], 'alive') && sim.engine('node-3').localNode().incarnation > inc,
      10_000,
      10,
    );
    expect(refuted).toBeDefined();
    expect((refuted as number) - t0).toBeLessThan(SUSPICION_MIN);
    sim.runFor(30_000);
    expect(eventsAbout(sim, 'node-3', 'dead')).toEqual([]);
    expect(sim.engine('node-3').localNode().incarnation).toBe(inc + 1);
  });

  it('a node cut off for 3 s is suspected, refutes after the partition heals, and never dies', () => {
    const sim = new SimNetwork({ seed: 6 });
    bootCluster(sim);
    sim.runFor(2_000);
    const t0 = sim.now;
    sim.isolate('node-6');
    sim.runFor(3_000);
    // Lifeguard: node-6 missed its own probes and the nacks it expected, so it slowed down.
    expect(sim.engine('node-6').healthScore).toBeGreaterThan(0);
    sim.heal('node-6');
    const healed = sim.runUntilTrue(() => allSee(sim, names, names, 'alive'), 20_000, 10);
    expect(healed).toBeDefined();
    sim.runFor(60_000);
    expect(eventsAbout(sim, 'node-6', 'suspect', t0).length).toBeGreaterThan(0);
    expect(sim.events.filter((e) => e.kind === 'dead')).toEqual([]);
    expect(allSee(sim, names, names, 'alive')).toBe(true);
    expect(sim.engine('node-6').healthScore).toBe(0);
  });

  it('a node cut off for 40 s is declared dead and reaped, and the cluster re-forms after healing', () => {
    const sim = new SimNetwork({ seed: 1 });
    bootCluster(sim);
    sim.runFor(2_000);
    const t0 = sim.now;
    sim.isolate('node-6');
    sim.runFor(40_000);
    expect(
      eventsAbout(sim, 'node-6', 'dead', t0)
        .map((e) => e.observer)
        .sort(),
    ).toEqual(others('node-6').sort());
    sim.heal('node-6');
    // Push/pull (30 s) and gossip to recently dead nodes bring both sides back together.
    expect(sim.runUntilTrue(() => allSee(sim, names, names, 'alive'), 60_000, 100)).toBeDefined();
  });

  it('with 10% UDP loss a crashed node is still declared dead by all, in the same time', () => {
    const sim = new SimNetwork({ seed: 9, loss: 0.1, minDelayMs: 1, maxDelayMs: 20 });
    bootCluster(sim);
    sim.runFor(5_000);
    const t0 = sim.now;
    sim.crash('node-9');
    const done = sim.runUntilTrue(() => allSee(sim, others('node-9'), ['node-9'], 'dead'), 60_000, 10);
    expect(done).toBeDefined();
    expect((done as number) - t0).toBeLessThan(SUSPICION_MIN + 5 * PROBE);
    expect(sim.events.filter((e) => e.kind === 'dead' && e.node !== 'node-9')).toEqual([]);
  });

  it('with 10% UDP loss and no TCP fallback: suspicions happen, all are refuted, none dies (5 min)', () => {
    const config = { ...lanConfig(), disableTcpPings: true };
    const sim = new SimNetwork({ seed: 7, loss: 0.1, minDelayMs: 1, maxDelayMs: 20, config });
    bootCluster(sim);
    sim.runFor(300_000);
    expect(sim.events.filter((e) => e.kind === 'dead' || e.kind === 'left')).toEqual([]);
    expect(allSee(sim, names, names, 'alive')).toBe(true);
    expect(sim.stats.lost / sim.stats.packets).toBeGreaterThan(0.08);
    // Direct and all three indirect probes fail together about once in 130 probes here: the
    // suspicions are real and every one of them was cleared by a refutation.
    const suspected = sim.events.filter((e) => e.kind === 'suspect' && e.observer !== e.node).length;
    const cleared = sim.events.filter((e) => e.kind === 'alive' && e.observer !== e.node).length;
    expect(suspected).toBeGreaterThan(10);
    expect(cleared).toBe(suspected);
  });

  it('with 10% UDP loss and the TCP fallback (default) nobody is even suspected (5 min)', () => {
    const sim = new SimNetwork({ seed: 8, loss: 0.1, minDelayMs: 1, maxDelayMs: 20 });
    bootCluster(sim);
    sim.runFor(300_000);
    expect(sim.events.filter((e) => e.kind === 'suspect' || e.kind === 'dead')).toEqual([]);
    expect(allSee(sim, names, names, 'alive')).toBe(true);
  });
});

describe('detection time scales with the cluster size (suspicion min = mult × log10(n) × interval)', () => {
  function crashAndMeasure(n: number, config: ProtocolConfig, seed: number) {
    const all = Array.from({ length: n }, (_, i) => `m-${i}`);
    const sim = new SimNetwork({ seed, config });
    sim.start('m-0');
    for (const name of all.slice(1)) {
      sim.runFor(50);
      sim.start(name, ['m-0']);
    }
    expect(sim.runUntilTrue(() => allSee(sim, all, all, 'alive'), 60_000, 50)).toBeDefined();
    sim.runFor(5_000);
    const victim = all[n - 1] as string;
    const t0 = sim.now;
    sim.crash(victim);
    const rest = all.filter((x) => x !== victim);
    const done = sim.runUntilTrue(() => allSee(sim, rest, [victim], 'dead'), 120_000, 10);
    expect(done).toBeDefined();
    const firstSuspect = Math.min(...eventsAbout(sim, victim, 'suspect', t0).map((e) => e.time));
    const firstDead = Math.min(...eventsAbout(sim, victim, 'dead', t0).map((e) => e.time));
    return { suspectToDead: firstDead - firstSuspect, total: (done as number) - t0 };
  }

  it('LAN, 50 nodes: suspect → dead after 4 × log10(50) s = 6.792 s once k = 2 peers confirmed', () => {
    const r = crashAndMeasure(50, lanConfig(), 11);
    expect(r.suspectToDead).toBe(6_792);
    expect(r.total).toBeLessThan(6_792 + 5 * PROBE);
  });

  it('Local, 2 nodes: suspect → dead in 3 s (k = 0), as observed against Go', () => {
    const r = crashAndMeasure(2, localConfig(), 12);
    expect(r.suspectToDead).toBe(3_000);
  });

  it('WAN, 10 nodes: suspect → dead after the 30 s minimum (5 s probes, mult 6)', () => {
    const r = crashAndMeasure(10, wanConfig(), 13);
    expect(r.suspectToDead).toBe(30_000);
  });
});

describe('simulation properties', () => {
  it('replays exactly for a seed (the whole event log), and differs for another seed', () => {
    const run = (seed: number) => {
      const sim = new SimNetwork({ seed, loss: 0.05 });
      bootCluster(sim);
      sim.crash('node-5');
      sim.runFor(20_000);
      return JSON.stringify(sim.events);
    };
    expect(run(21)).toBe(run(21));
    expect(run(21)).not.toBe(run(22));
  });

  it('10 nodes starting at the same instant, each joining a different earlier node, converge', () => {
    const sim = new SimNetwork({ seed: 23 });
    sim.start('node-0');
    for (const [i, name] of names.slice(1).entries()) sim.start(name, [`node-${i}`]);
    const t = sim.runUntilTrue(() => allSee(sim, names, names, 'alive'), 60_000, 10);
    expect(t).toBeDefined();
    expect(t as number).toBeLessThan(3 * PROBE);
  });
});
