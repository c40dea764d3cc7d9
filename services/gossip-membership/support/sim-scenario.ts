// One parametrised SWIM/Lifeguard experiment on ScaleSim, shared by bench/simulate.ts and
// test/sim-scale.test.ts. Timeline (all simulated ms):
//   0 .. joinSpreadMs     nodes 1..n−1 start at evenly spread times, each joining a random node
//                         already started (node 0 starts at 0);
//   starveAtMs            `starved` random nodes (never node 0 / the victim / the joiner) become
//                         CPU-starved (ScaleSim.starve);
//   loadFromMs..failAtMs  quiet window: per-node load is measured here;
//   failAtMs              the victim crashes silently → first suspicion, first death, every
//                         running node has it dead (or gone) — times relative to the crash;
//   joinAtMs              a fresh node joins one random seed → every running node knows it;
//   partition             optional full partition of a minority, healed later;
//   durationMs            end.
// Faults (loss/delay/duplication) apply all along. Node counts and times are parameters; the
// defaults fit a 60 s run.

import { lanConfig, type ProtocolConfig } from '../src/protocol/config.js';
import { createRng } from '../src/protocol/prng.js';
import { InvariantChecker } from './sim-invariants.js';
import { ScaleSim, type StarveOptions } from './sim-scale.js';

/** The same config with Lifeguard's extensions switched off (plain SWIM + memberlist basics). */
export function withoutLifeguard(config: ProtocolConfig): ProtocolConfig {
  return {
    ...config,
    awarenessMaxMultiplier: 1, // local health: the score stays 0, nacks change nothing
    suspicionMaxTimeoutMult: 1, // suspicion: fixed timeout = the minimum, confirmations do not matter
    disableRefutationBuddy: true, // no suspect piggybacked on pings to a suspect node
  };
}

export interface ScenarioOptions {
  n: number;
  seed: number;
  config?: ProtocolConfig;
  lifeguard?: boolean;
  loss?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  duplicate?: number;
  joinSpreadMs?: number;
  /** Start all n nodes at 0 as a converged cluster (no join storm); joinSpreadMs is then unused. */
  warmStart?: boolean;
  starved?: number;
  starve?: StarveOptions;
  starveAtMs?: number;
  loadFromMs?: number;
  failAtMs?: number;
  joinAtMs?: number;
  /** Full partition of `fraction` of the nodes from atMs to healAtMs. */
  partition?: { atMs: number; healAtMs: number; fraction: number };
  /** One node that cannot receive from anyone (asymmetric) from atMs to healAtMs. */
  deaf?: { atMs: number; healAtMs: number };
  durationMs?: number;
  /** Full invariant check period (simulated ms); 0 = incremental checks only. */
  fullCheckEveryMs?: number;
  strict?: boolean;
  /** Simulation step between progress checks, ms. */
  stepMs?: number;
}

export interface ScenarioResult {
  n: number;
  lifeguard: boolean;
  wallMs: number;
  simulatedMs: number;
  /** First time every running node knew every other running node alive (absolute), if ever. */
  convergedAtMs: number | undefined;
  failure: {
    victim: number;
    atMs: number;
    firstSuspectMs: number | undefined;
    firstDeadMs: number | undefined;
    allDeadMs: number | undefined;
  };
  join: { node: number; atMs: number; allKnowMs: number | undefined };
  load: {
    windowMs: number;
    packetsPerNodeSec: number;
    messagesPerNodeSec: number;
    bytesPerNodeSec: number;
    streamsPerNodeSec: number;
    streamBytesPerNodeSec: number;
  };
  falseSuspicions: number;
  falseDeaths: number;
  suspicionsOfStarved: number;
  deathsOfStarved: number;
  violations: string[];
  /** `dead` events anywhere (true and false). */
  deadEvents: number;
  /** Running nodes that, at the end, hold every other running node alive or suspect. */
  completeAtEnd: number;
  upAtEnd: number;
  stats: ScaleSim['stats'];
}

export function runScenario(o: ScenarioOptions): ScenarioResult {
  const started = performance.now();
  const n = o.n;
  const lifeguard = o.lifeguard ?? true;
  const base = o.config ?? lanConfig();
  const config = lifeguard ? base : withoutLifeguard(base);
  const duration = o.durationMs ?? 60_000;
  const joinSpread = o.joinSpreadMs ?? Math.min(5_000, n * 5);
  const loadFrom = o.loadFromMs ?? 25_000;
  const failAt = o.failAtMs ?? 35_000;
  const joinAt = o.joinAtMs ?? 40_000;
  const starveAt = o.starveAtMs ?? 0;
  const step = o.stepMs ?? 50;
  const cap = n + 1;
  const rng = createRng(o.seed ^ 0x5eed);

  // in[o * cap + t] = 1 while observer o holds t alive or suspect; known[o] counts them.
  const inView = new Uint8Array(cap * cap);
  const known = new Int32Array(cap);
  const holders = new Int32Array(cap);
  let checker: InvariantChecker | undefined;
  let deadEvents = 0;
  const victim = 1 + rng.int(n - 1);
  const joiner = n;
  const failure: ScenarioResult['failure'] = {
    victim,
    atMs: failAt,
    firstSuspectMs: undefined,
    firstDeadMs: undefined,
    allDeadMs: undefined,
  };
  const join: ScenarioResult['join'] = { node: joiner, atMs: joinAt, allKnowMs: undefined };

  const sim = new ScaleSim({
    seed: o.seed,
    config,
    loss: o.loss ?? 0,
    minDelayMs: o.minDelayMs ?? 1,
    maxDelayMs: o.maxDelayMs ?? 5,
    duplicate: o.duplicate ?? 0,
    onEvent: (time, obs, e) => {
      checker?.onEvent(time, obs, e);
      const t = sim.indexOf(e.node.name);
      if (t < 0 || t === obs) return;
      const k = obs * cap + t;
      if (e.kind === 'join' || e.kind === 'alive' || e.kind === 'update' || e.kind === 'suspect') {
        if (inView[k] === 0) {
          inView[k] = 1;
          known[obs] = (known[obs] as number) + 1;
          holders[t] = (holders[t] as number) + 1;
        }
      } else if (e.kind === 'dead' || e.kind === 'left') {
        if (inView[k] === 1) {
          inView[k] = 0;
          known[obs] = (known[obs] as number) - 1;
          holders[t] = (holders[t] as number) - 1;
        }
      }
      if (e.kind === 'dead') deadEvents += 1;
      if (t === victim && time >= failAt) {
        if (e.kind === 'suspect' && failure.firstSuspectMs === undefined)
          failure.firstSuspectMs = time - failAt;
        if (e.kind === 'dead' && failure.firstDeadMs === undefined) failure.firstDeadMs = time - failAt;
      }
    },
  });
  sim.addNodes(cap);
  checker = new InvariantChecker(sim, cap, { strict: o.strict ?? false });

  // ---- schedule ------------------------------------------------------------------------------
  const starts: number[] = [];
  for (let i = 1; i < n; i++) starts.push(Math.floor((i * joinSpread) / n));
  const starvedSet: number[] = [];
  while (starvedSet.length < Math.min(o.starved ?? 0, n - 2)) {
    const c = 1 + rng.int(n - 1);
    if (c !== victim && !starvedSet.includes(c)) starvedSet.push(c);
  }
  const partitioned: number[] = [];
  if (o.partition !== undefined) {
    const size = Math.max(1, Math.floor(n * o.partition.fraction));
    for (let i = n - size; i < n; i++) if (i !== victim) partitioned.push(i);
  }
  const deafNode = victim === n - 1 ? n - 2 : n - 1;

  type Action = { at: number; run: () => void };
  const actions: Action[] = [];
  if (o.warmStart === true) {
    starts.length = 0;
    actions.push({
      at: 0,
      run: () => {
        sim.startWarm(Array.from({ length: n }, (_, i) => i));
        for (let a = 0; a < n; a++) {
          for (let b = 0; b < n; b++) if (a !== b) inView[a * cap + b] = 1;
          known[a] = n - 1;
          holders[a] = n - 1;
        }
      },
    });
  } else {
    actions.push({ at: 0, run: () => sim.start(0) });
    starts.forEach((at, k) => {
      const i = k + 1;
      actions.push({ at, run: () => sim.start(i, [rng.int(i)]) });
    });
  }
  if (starvedSet.length > 0) {
    const s = o.starve ?? { packetDelayMs: 1_500, tickDelayMs: 500 };
    actions.push({
      at: starveAt,
      run: () => {
        for (const i of starvedSet) sim.starve(i, s);
      },
    });
  }
  actions.push({ at: failAt, run: () => sim.crash(victim) });
  let joinSeed = rng.int(n);
  if (joinSeed === victim) joinSeed = (joinSeed + 1) % n;
  actions.push({ at: joinAt, run: () => sim.start(joiner, [joinSeed]) });
  if (o.partition !== undefined) {
    const p = o.partition;
    actions.push({ at: p.atMs, run: () => sim.partition([partitioned]) });
    actions.push({ at: p.healAtMs, run: () => sim.heal() });
  }
  if (o.deaf !== undefined) {
    const d = o.deaf;
    actions.push({
      at: d.atMs,
      run: () => {
        for (let i = 0; i < cap; i++) if (i !== deafNode) sim.block(i, deafNode);
      },
    });
    actions.push({ at: d.healAtMs, run: () => sim.heal() });
  }
  actions.sort((a, b) => a.at - b.at);

  // ---- run -----------------------------------------------------------------------------------
  let convergedAtMs: number | undefined;
  let loadSnap: { t: number; p: number; m: number; b: number; s: number; sb: number } | undefined;
  let loadEnd: typeof loadSnap;
  const sum = (a: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] as number;
    return s;
  };
  const snap = () => ({
    t: sim.now,
    p: sum(sim.packetsSent),
    m: sum(sim.messagesSent),
    b: sum(sim.bytesSent),
    s: sum(sim.streamsOpened),
    sb: sum(sim.streamBytes),
  });
  const allStarted = (starts[starts.length - 1] ?? 0) + 1;
  let next = 0;
  const fullEvery = o.fullCheckEveryMs ?? 0;
  let nextFull = fullEvery > 0 ? fullEvery : Number.POSITIVE_INFINITY;
  for (let t = 0; t <= duration; t += step) {
    while (next < actions.length && (actions[next] as Action).at <= t) {
      sim.runUntil((actions[next] as Action).at);
      (actions[next] as Action).run();
      next += 1;
    }
    sim.runUntil(t);
    if (loadSnap === undefined && t >= loadFrom) loadSnap = snap();
    if (loadEnd === undefined && t >= failAt) loadEnd = snap();
    if (convergedAtMs === undefined && t >= allStarted && t < failAt) {
      let ok = true;
      for (let i = 0; i < n && ok; i++) if (sim.up[i] && known[i] !== n - 1) ok = false;
      if (ok) convergedAtMs = t;
    }
    if (t >= failAt && failure.allDeadMs === undefined && holders[victim] === 0)
      failure.allDeadMs = t - failAt;
    if (t >= joinAt && join.allKnowMs === undefined && t > joinAt) {
      let all = true;
      for (let i = 0; i < n && all; i++)
        if (sim.up[i] && i !== joiner && inView[i * cap + joiner] !== 1) all = false;
      if (all) join.allKnowMs = t - joinAt;
    }
    if (t >= nextFull) {
      checker.checkAll(t);
      nextFull += fullEvery;
    }
  }
  let upAtEnd = 0;
  let completeAtEnd = 0;
  for (let i = 0; i < cap; i++) {
    if (!sim.up[i]) continue;
    upAtEnd += 1;
    let all = true;
    for (let j = 0; j < cap && all; j++) if (j !== i && sim.up[j] && inView[i * cap + j] !== 1) all = false;
    if (all) completeAtEnd += 1;
  }
  const a = loadSnap;
  const b = loadEnd;
  const win = a !== undefined && b !== undefined ? b.t - a.t : 0;
  const per = (x: number) => (win > 0 ? (x / n) * (1000 / win) : 0);
  return {
    n,
    lifeguard,
    wallMs: performance.now() - started,
    simulatedMs: duration,
    convergedAtMs,
    failure,
    join,
    load: {
      windowMs: win,
      packetsPerNodeSec: a && b ? per(b.p - a.p) : 0,
      messagesPerNodeSec: a && b ? per(b.m - a.m) : 0,
      bytesPerNodeSec: a && b ? per(b.b - a.b) : 0,
      streamsPerNodeSec: a && b ? per(b.s - a.s) : 0,
      streamBytesPerNodeSec: a && b ? per(b.sb - a.sb) : 0,
    },
    falseSuspicions: checker.falseSuspicions,
    falseDeaths: checker.falseDeaths,
    suspicionsOfStarved: checker.suspicionsOfStarved,
    deathsOfStarved: checker.deathsOfStarved,
    violations: checker.violations,
    deadEvents,
    completeAtEnd,
    upAtEnd,
    stats: sim.stats,
  };
}
