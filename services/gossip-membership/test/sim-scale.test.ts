// The engine at moderate scale on the fast simulator (helpers/sim-scale.ts, sim-scenario.ts),
// fixed seeds, bounded to a few seconds of CPU. Bounds come from the config formulas
// (lanConfig: probe interval T = 1 s, suspicion min = 4 × max(1, log10 n) × T, max = 6 × min,
// gossip every 200 ms to 3 nodes) rather than from observed values:
//   first suspect   ≤ 5 T  (first probe of the victim among n − 1 round-robin probers, + the
//                           failing probe's own period; P(no probe in 4 T) ≈ e^−4 for one seed)
//   first dead      ∈ [first suspect + min, first suspect + max + T]
//   all dead        ≤ first dead + 3 s (one broadcast: Serf's estimate is ≈ 1.1–1.6 s)
//   join → all      ≤ 3 s
//   quiet load      ≈ 2 packets per node per second (ping + ack), independent of n
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import { suspicionTimeout } from '../src/protocol/math.js';
import type { MemberEvent } from '../src/protocol/members.js';
import { ScaleSim, simAddress, simIndex, simName } from '../support/sim-scale.js';
import { runScenario, type ScenarioOptions, withoutLifeguard } from '../support/sim-scenario.js';

const T = lanConfig().probeIntervalMs;
const quiet: Partial<ScenarioOptions> = {
  warmStart: true,
  durationMs: 40_000,
  loadFromMs: 3_000,
  failAtMs: 10_000,
  joinAtMs: 12_000,
  fullCheckEveryMs: 1_000,
};

function checkDetection(r: ReturnType<typeof runScenario>, n: number): void {
  const min = suspicionTimeout(4, n, T);
  const { firstSuspectMs, firstDeadMs, allDeadMs } = r.failure;
  expect(firstSuspectMs).toBeDefined();
  expect(firstSuspectMs as number).toBeLessThanOrEqual(5 * T);
  expect(firstSuspectMs as number).toBeGreaterThan(0); // a probe already running at the crash may fail early
  expect(firstDeadMs as number).toBeGreaterThanOrEqual((firstSuspectMs as number) + min - 1);
  expect(firstDeadMs as number).toBeLessThanOrEqual((firstSuspectMs as number) + 6 * min + T);
  expect(allDeadMs as number).toBeLessThanOrEqual((firstDeadMs as number) + 3_000);
}

describe('simulation at moderate scale (fixed seeds)', () => {
  it('80 nodes, clean network: detection, dissemination and load within the formulas; invariants hold', () => {
    const n = 80;
    const r = runScenario({ ...quiet, n, seed: 11, strict: true });
    expect(r.violations).toEqual([]);
    checkDetection(r, n);
    expect(r.join.allKnowMs as number).toBeLessThanOrEqual(3_000);
    expect(r.load.packetsPerNodeSec).toBeGreaterThan(1.8);
    expect(r.load.packetsPerNodeSec).toBeLessThan(2.5);
    expect(r.falseDeaths + r.falseSuspicions).toBe(0);
    expect(r.completeAtEnd).toBe(r.upAtEnd);
  });

  it('load per member does not grow with n (SWIM)', () => {
    const small = runScenario({ ...quiet, n: 20, seed: 3, durationMs: 10_000, failAtMs: 9_000 });
    const large = runScenario({ ...quiet, n: 100, seed: 3, durationMs: 10_000, failAtMs: 9_000 });
    expect(Math.abs(small.load.packetsPerNodeSec - large.load.packetsPerNodeSec)).toBeLessThan(0.3);
  });

  it('Lifeguard: one CPU-starved node among 60 causes no false death and is not itself declared dead', () => {
    const r = runScenario({
      ...quiet,
      n: 60,
      seed: 21,
      starved: 1,
      starve: { packetDelayMs: 1_500, tickDelayMs: 500 },
      durationMs: 60_000,
      failAtMs: 30_000,
      joinAtMs: 35_000,
      strict: true,
    });
    expect(r.violations).toEqual([]);
    expect(r.falseDeaths).toBe(0);
    expect(r.deathsOfStarved).toBe(0);
    expect(r.suspicionsOfStarved).toBeGreaterThan(0); // the starvation was real
    checkDetection(r, 60);
  });

  it('Lifeguard cuts the false suspicions that severely starved nodes cause', () => {
    const o: ScenarioOptions = {
      ...quiet,
      n: 60,
      seed: 5,
      starved: 6,
      starve: { packetDelayMs: 8_000, tickDelayMs: 2_000 },
      durationMs: 40_000,
      failAtMs: 39_000,
      joinAtMs: 39_500,
      fullCheckEveryMs: 0,
    };
    const on = runScenario({ ...o, lifeguard: true });
    const off = runScenario({ ...o, lifeguard: false });
    expect(on.violations).toEqual([]);
    expect(off.violations).toEqual([]);
    expect(off.falseSuspicions).toBeGreaterThan(3 * on.falseSuspicions);
  });

  it('5 % loss, duplicates and reordering: still detects, disseminates, and keeps the invariants', () => {
    const n = 50;
    const r = runScenario({
      ...quiet,
      n,
      seed: 31,
      loss: 0.05,
      duplicate: 0.02,
      minDelayMs: 1,
      maxDelayMs: 60,
    });
    expect(r.violations).toEqual([]);
    checkDetection(r, n);
    expect(r.join.allKnowMs as number).toBeLessThanOrEqual(5_000);
    expect(r.stats.lost).toBeGreaterThan(0);
    expect(r.stats.duplicated).toBeGreaterThan(0);
  });

  it('a full partition and an asymmetric (deaf) node: invariants hold, the cluster is whole after healing', () => {
    const p = runScenario({
      ...quiet,
      n: 40,
      seed: 41,
      partition: { atMs: 2_000, healAtMs: 20_000, fraction: 0.25 },
      durationMs: 60_000,
      failAtMs: 59_000,
      joinAtMs: 30_000,
    });
    expect(p.violations).toEqual([]);
    expect(p.deadEvents).toBeGreaterThan(0); // each side declared the other dead
    expect(p.completeAtEnd).toBe(p.upAtEnd);
    const d = runScenario({
      ...quiet,
      n: 40,
      seed: 42,
      deaf: { atMs: 2_000, healAtMs: 20_000 },
      // While deaf it hears no ack: it declares everyone dead and everyone declares it dead. After
      // the heal its refutation brings it back in the others' views, but its own view (all dead)
      // is only repaired when a peer push/pulls with it: pushPullScale(30 s, 40) = 60 s.
      durationMs: 120_000,
      failAtMs: 119_000,
      joinAtMs: 30_000,
    });
    expect(d.violations).toEqual([]);
    expect(d.stats.blocked).toBeGreaterThan(0);
    expect(d.completeAtEnd).toBe(d.upAtEnd);
  });

  it('cold start: 50 nodes joining within 250 ms converge by the first push/pull round', () => {
    // Gossip alone may miss a node during a join storm (transmit limits are computed from the
    // small cluster sizes seen early on); anti-entropy repairs it within pushPullScale(30 s, 50)
    // = 60 s, each node pulling the full state of a random peer.
    const r = runScenario({
      n: 50,
      seed: 52,
      durationMs: 80_000,
      loadFromMs: 70_000,
      failAtMs: 79_000,
      joinAtMs: 79_500,
    });
    expect(r.violations).toEqual([]);
    expect(r.convergedAtMs as number).toBeLessThanOrEqual(62_000);
  });

  it('Lifeguard off is what the config says', () => {
    const c = withoutLifeguard(lanConfig());
    expect([c.awarenessMaxMultiplier, c.suspicionMaxTimeoutMult, c.disableRefutationBuddy]).toEqual([
      1,
      1,
      true,
    ]);
  });
});

describe('ScaleSim', () => {
  function eventLog(clone: boolean): string[] {
    const log: string[] = [];
    const sim = new ScaleSim({
      seed: 9,
      loss: 0.05,
      duplicate: 0.05,
      maxDelayMs: 30,
      clone,
      onEvent: (t, o, e: MemberEvent) =>
        log.push(`${t.toFixed(3)} ${o} ${e.kind} ${e.node.name} ${e.node.incarnation}`),
    });
    sim.addNodes(12);
    sim.start(0);
    for (let i = 1; i < 12; i++) {
      sim.runFor(20);
      sim.start(i, [i - 1]);
    }
    sim.runFor(5_000);
    sim.crash(3);
    sim.starve(5, { packetDelayMs: 2_000, tickDelayMs: 500 });
    sim.runFor(15_000);
    sim.leave(7);
    sim.runFor(5_000);
    return log;
  }

  it('engines never mutate what crosses the network: copying every message changes nothing', () => {
    const shared = eventLog(false);
    expect(shared.length).toBeGreaterThan(100);
    expect(eventLog(true)).toEqual(shared);
  });

  it('is deterministic for a seed', () => {
    const a = runScenario({ ...quiet, n: 30, seed: 77, loss: 0.03, durationMs: 20_000 });
    const b = runScenario({ ...quiet, n: 30, seed: 77, loss: 0.03, durationMs: 20_000 });
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
  });

  it('maps node indexes to addresses and back', () => {
    for (const i of [0, 1, 254, 255, 256, 65_535, 70_000]) expect(simIndex(simAddress(i))).toBe(i);
    expect(simIndex({ addr: new Uint8Array(16), port: 1 })).toBe(-1);
    expect(simName(7)).toBe('node-0007');
  });

  it('partitions, one-way blocks and heal', () => {
    const sim = new ScaleSim({ seed: 1 });
    sim.addNodes(4);
    sim.partition([[0, 1]]);
    expect([sim.reaches(0, 1), sim.reaches(0, 2), sim.reaches(2, 3)]).toEqual([true, false, true]);
    sim.heal();
    sim.block(2, 3);
    expect([sim.reaches(2, 3), sim.reaches(3, 2)]).toEqual([false, true]);
    sim.heal();
    expect(sim.reaches(2, 3)).toBe(true);
  });
});
