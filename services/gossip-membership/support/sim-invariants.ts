// Safety invariants and false-positive accounting for a ScaleSim run.
//
// Incremental (every membership event, any N):
//   I1 incarnations never decrease: what observer O reports about T (every event but `join`,
//      which may follow a reap) carries an incarnation ≥ the last one O reported about T. A
//      restart of O (new engine) resets O's row.
//   I2 self stays alive: O never reports itself suspect or dead unless it is leaving.
//   FP a `dead` event about a HEALTHY target is a false death; `suspect` about one a false
//      suspicion. Healthy at time t = up, not leaving, not starved, mutually reachable with the
//      observer, and undisturbed (no crash/restart/starvation/partition/block touching it) for the
//      last `windowMs` (default: maximum suspicion timeout + 2 probe periods for the cluster size,
//      so a belief formed during a disruption is not blamed on the protocol). Deaths of starved
//      nodes are counted apart: Lifeguard only asks that a slow node does not make healthy ones die.
//   With `strict` (lossless scenarios), every false death is also a violation (I3: no node
//   believes a live, reachable, unstarved node dead). Under loss SWIM has a small false-positive
//   rate by design, so it is measured instead.
// Full (checkAll, at small N after every step): I2 on every engine's own record, and I3 on every
// view (a dead record of a healthy node whose stateChange is inside the healthy window).

import { suspicionTimeout } from '../src/protocol/math.js';
import type { MemberEvent } from '../src/protocol/members.js';
import type { ScaleSim } from './sim-scale.js';

export interface InvariantOptions {
  strict?: boolean;
  windowMs?: number;
  /** Stop recording violations after this many (they are usually one bug repeated). */
  maxViolations?: number;
}

export class InvariantChecker {
  readonly violations: string[] = [];
  falseSuspicions = 0;
  falseDeaths = 0;
  deathsOfStarved = 0;
  suspicionsOfStarved = 0;
  readonly falseDeathLog: { time: number; observer: number; target: number }[] = [];
  readonly #sim: ScaleSim;
  readonly #strict: boolean;
  readonly #window: number;
  readonly #max: number;
  readonly #cap: number;
  readonly #inc: Float64Array;
  readonly #rowGen: Int32Array;
  readonly leaving = new Set<number>();

  /** @param capacity the most nodes the run will ever have (sizes the N×N incarnation table). */
  constructor(sim: ScaleSim, capacity: number, options: InvariantOptions = {}) {
    this.#sim = sim;
    this.#strict = options.strict ?? false;
    const c = sim.config;
    const min = suspicionTimeout(c.suspicionMult, capacity, c.probeIntervalMs);
    this.#window = options.windowMs ?? min * c.suspicionMaxTimeoutMult + 2 * c.probeIntervalMs;
    this.#max = options.maxViolations ?? 20;
    this.#cap = capacity;
    this.#inc = new Float64Array(capacity * capacity).fill(-1);
    this.#rowGen = new Int32Array(capacity);
  }

  /** Whether `t` counts as healthy as seen from observer `o` at `time`. */
  healthy(o: number, t: number, time: number): boolean {
    const s = this.#sim;
    return (
      s.up[t] === true &&
      !this.leaving.has(t) &&
      s.starved[t] === undefined &&
      time - (s.disruptedAt[t] as number) > this.#window &&
      s.reaches(o, t) &&
      s.reaches(t, o)
    );
  }

  onEvent(time: number, o: number, e: MemberEvent): void {
    const t = this.#sim.indexOf(e.node.name);
    if (t < 0 || t >= this.#cap) return;
    const gen = this.#sim.gen[o] as number;
    if (this.#rowGen[o] !== gen) {
      this.#rowGen[o] = gen;
      this.#inc.fill(-1, o * this.#cap, (o + 1) * this.#cap);
    }
    const k = o * this.#cap + t;
    const last = this.#inc[k] as number;
    if (e.kind !== 'join' && e.kind !== 'conflict' && e.node.incarnation < last)
      this.#violate(`${time}: ${o} saw ${e.node.name} go from incarnation ${last} to ${e.node.incarnation}`);
    if (e.kind !== 'conflict') this.#inc[k] = e.node.incarnation;
    if (o === t && (e.kind === 'suspect' || e.kind === 'dead') && !this.leaving.has(o))
      this.#violate(`${time}: ${e.node.name} reported itself ${e.kind}`);
    if (o === t) return;
    if (e.kind === 'suspect' || e.kind === 'dead') {
      const starved = this.#sim.starved[t] !== undefined && this.#sim.up[t] === true;
      if (e.kind === 'dead') {
        if (starved) this.deathsOfStarved += 1;
        else if (this.healthy(o, t, time)) {
          this.falseDeaths += 1;
          if (this.falseDeathLog.length < 100) this.falseDeathLog.push({ time, observer: o, target: t });
          if (this.#strict) this.#violate(`${time}: ${o} declared healthy ${e.node.name} dead`);
        }
      } else if (starved) this.suspicionsOfStarved += 1;
      else if (this.healthy(o, t, time)) this.falseSuspicions += 1;
    }
  }

  /** Full check of every running engine (O(N²): small N only). */
  checkAll(time: number): void {
    const s = this.#sim;
    for (let o = 0; o < s.size; o++) {
      const e = s.engines[o];
      if (e === undefined || !s.up[o]) continue;
      const me = e.localNode();
      if (me.state !== 'alive' && !this.leaving.has(o) && !e.leaving)
        this.#violate(`${time}: ${me.name} holds itself ${me.state}`);
      if (!this.#strict) continue;
      for (const v of e.allNodes()) {
        if (v.state !== 'dead') continue;
        const t = s.indexOf(v.name);
        if (
          t >= 0 &&
          t !== o &&
          this.healthy(o, t, time) &&
          v.stateChange > (s.disruptedAt[t] as number) + this.#window
        )
          this.#violate(`${time}: ${me.name} believes healthy ${v.name} dead`);
      }
    }
  }

  #violate(msg: string): void {
    if (this.violations.length < this.#max) this.violations.push(msg);
  }
}
