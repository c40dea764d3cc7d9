// The reconnect loop (src/protocol/reconnect.ts) through the engine, fake clock, no network model:
// which dead nodes are dialled, when, how often, and the follow-up that makes two nodes that
// declared each other dead see each other alive again.
import { describe, expect, it } from 'vitest';
import { lanConfig, localConfig, type ProtocolConfig, wanConfig } from '../src/protocol/config.js';
import type { Engine, StreamRequest } from '../src/protocol/engine.js';
import type { PushPull } from '../src/protocol/messages.js';
import { addrOf, learn, makeEngine } from './helpers/engines.js';

type PushPullRequest = Extract<StreamRequest, { kind: 'pushPull' }>;
const LAN = lanConfig();
/** LAN without probes: with no network in these tests, probes would make every peer die. */
const QUIET: ProtocolConfig = { ...LAN, probeIntervalMs: 0 };

/** Tells `engine` that `node` died (declared by `from`), or left when from === node. */
function kill(engine: Engine, node: string, now: number, from = 'x'): void {
  engine.receive(addrOf(250), { type: 'dead', body: { node, incarnation: 1, from } }, now);
}

/**
 * Ticks `engine` at each deadline from `from` to `until`; every push/pull it starts is answered at
 * once by `answer` (default: the dial fails). Returns the push/pulls with their times.
 */
function drive(
  engine: Engine,
  from: number,
  until: number,
  answer: (s: PushPullRequest, now: number) => PushPull | { error: string } = () => ({ error: 'refused' }),
): { time: number; node: string | undefined }[] {
  const out: { time: number; node: string | undefined }[] = [];
  let t = from;
  for (let guard = 0; guard < 1_000_000 && t <= until; guard++) {
    const r = engine.tick(t);
    for (const s of r.streams) {
      if (s.kind !== 'pushPull') continue;
      out.push({ time: t, node: s.node });
      engine.pushPullResult(s.id, answer(s, t), t);
    }
    const next = engine.tick(t).nextDeadline;
    if (next === Number.POSITIVE_INFINITY) break;
    t = Math.max(t + 1, next);
  }
  return out;
}

const peers = (names: string[]) => names.map((n, i): [string, number] => [n, i + 2]);

describe('reconnect to dead nodes', () => {
  it('dials dead nodes, never a node that left', () => {
    const a = makeEngine('a', 1);
    learn(a, peers(['b', 'c', 'd']));
    kill(a, 'b', 10, 'b'); // b left gracefully
    kill(a, 'c', 20);
    kill(a, 'd', 30);
    expect(a.node('b')?.state).toBe('left');
    expect(a.reconnectCandidates).toEqual(['c', 'd']);
    const calls = drive(a, 30, 30 + 20 * LAN.reconnectIntervalMs);
    // Nobody is alive but us: p = dead / alive = 2 ≥ 1, so one attempt per interval.
    expect(calls.length).toBeGreaterThanOrEqual(19);
    expect(calls.length).toBeLessThanOrEqual(21);
    expect(new Set(calls.map((c) => c.node))).toEqual(new Set(['c', 'd']));
    // One reconnect interval apart.
    for (let i = 1; i < calls.length; i++)
      expect((calls[i] as { time: number }).time - (calls[i - 1] as { time: number }).time).toBe(
        LAN.reconnectIntervalMs,
      );
  });

  it('keeps dialling a dead node after it was reaped, and stops reconnectTimeoutMs after its death', () => {
    const config: ProtocolConfig = { ...LAN, reconnectTimeoutMs: 5 * LAN.reconnectIntervalMs };
    const a = makeEngine('a', 1, config);
    learn(a, peers(['c']));
    kill(a, 'c', 0);
    const calls = drive(a, 0, 20 * LAN.reconnectIntervalMs);
    expect(a.node('c')).toBeUndefined(); // reaped after gossipToTheDeadTime
    const reaped = calls.filter((c) => c.time > LAN.gossipToTheDeadTimeMs + 10 * LAN.probeIntervalMs);
    expect(reaped.length).toBeGreaterThan(0); // still dialled once reaped
    expect(calls.every((c) => c.node === 'c')).toBe(true);
    expect(Math.max(...calls.map((c) => c.time))).toBeLessThanOrEqual(config.reconnectTimeoutMs);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(a.reconnectCandidates).toEqual([]);
  });

  it('picks the target at random among the eligible dead nodes', () => {
    const names = ['c', 'd', 'e', 'f'];
    const a = makeEngine('a', 1, LAN, 99);
    learn(a, peers(names));
    for (const n of names) kill(a, n, 0);
    const calls = drive(a, 0, 400 * LAN.reconnectIntervalMs);
    expect(calls.length).toBeGreaterThanOrEqual(399);
    const counts = names.map((n) => calls.filter((c) => c.node === n).length);
    for (const c of counts) {
      expect(c).toBeGreaterThan(60); // expected 100 each
      expect(c).toBeLessThan(140);
    }
  });

  it('with more alive nodes than dead ones it dials with probability dead / alive', () => {
    // Probing off: with no network here the live peers would otherwise be declared dead too.
    const a = makeEngine('a', 1, { ...LAN, probeIntervalMs: 0 }, 7);
    const names = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'z'];
    learn(a, peers(names));
    kill(a, 'z', 0);
    // Alive: a + 9 peers = 10, dead 1 → p = 0.1 per interval, 40 attempts expected in 400.
    const calls = drive(a, 0, 400 * LAN.reconnectIntervalMs).filter((c) => c.node === 'z');
    expect(calls.length).toBeGreaterThan(20);
    expect(calls.length).toBeLessThan(65);
    expect(a.members()).toHaveLength(10);
  });

  it('a node that is alive again leaves the dead list', () => {
    const a = makeEngine('a', 1, QUIET);
    learn(a, peers(['c']));
    kill(a, 'c', 0);
    expect(a.reconnectCandidates).toEqual(['c']);
    a.receive(
      addrOf(2),
      {
        type: 'alive',
        body: {
          node: 'c',
          incarnation: 2,
          addr: addrOf(2).addr,
          port: 7946,
          meta: null,
          vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
        },
      },
      5,
    );
    expect(a.reconnectCandidates).toEqual([]);
    drive(a, 5, 5 + 3 * LAN.reconnectIntervalMs);
    expect(a.reconnectAttempts).toBe(0);
  });

  it('a dead node coming back triggers an attempt at the others one probe period later, not thinned', () => {
    const a = makeEngine('a', 1, QUIET, 5);
    const names = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'y', 'z'];
    learn(a, peers(names));
    kill(a, 'y', 0);
    kill(a, 'z', 0);
    // p = 2 dead / 9 alive; y comes back at 1000 s (the heal): the next tick is ≤ 1 probe period later.
    const t = 1_000_000;
    drive(a, 0, t - 1);
    const before = a.reconnectAttempts;
    a.receive(
      addrOf(10),
      {
        type: 'alive',
        body: {
          node: 'y',
          incarnation: 2,
          addr: addrOf(10).addr,
          port: 7946,
          meta: null,
          vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
        },
      },
      t,
    );
    const calls = drive(a, t, t + LAN.probeIntervalMs).filter((c) => c.node === 'z');
    expect(calls).toHaveLength(1); // p = 2/9 would have skipped it 7 times in 9
    expect((calls[0] as { time: number }).time).toBeLessThanOrEqual(t + LAN.probeIntervalMs);
    expect(a.reconnectAttempts).toBe(before + 1);
  });

  it('forgets a dead node whose address now answers with another node', () => {
    const a = makeEngine('a', 1, QUIET);
    const other = makeEngine('other', 2, QUIET); // took c's address
    learn(a, peers(['c']));
    kill(a, 'c', 0);
    const calls = drive(a, 0, 3 * LAN.reconnectIntervalMs, (s, now) => {
      return other.handlePushPull(addrOf(1), s.request, now).reply;
    });
    expect(calls.filter((c) => c.node === 'c')).toHaveLength(1);
    expect(a.reconnectCandidates).toEqual([]);
  });

  it('reconnectIntervalMs = 0 switches it off', () => {
    const config: ProtocolConfig = { ...LAN, reconnectIntervalMs: 0 };
    const a = makeEngine('a', 1, config);
    learn(a, peers(['c']));
    kill(a, 'c', 0);
    expect(a.reconnectCandidates).toEqual([]);
    expect(drive(a, 0, 10 * LAN.pushPullIntervalMs)).toEqual([]);
    expect(a.reconnectAttempts).toBe(0);
  });

  it('the presets reconnect by default, once per push/pull interval', () => {
    for (const c of [lanConfig(), wanConfig(), localConfig()]) {
      expect(c.reconnectIntervalMs).toBe(c.pushPullIntervalMs);
      expect(c.reconnectTimeoutMs).toBe(24 * 3600 * 1000);
    }
  });

  it('stops when we leave', () => {
    const a = makeEngine('a', 1);
    learn(a, peers(['c']));
    kill(a, 'c', 0);
    a.leave(1);
    expect(drive(a, 1, 10 * LAN.reconnectIntervalMs)).toEqual([]);
  });

  it('two nodes that hold each other dead: the reconnect and its follow-up bring both back', () => {
    const a = makeEngine('a', 1, QUIET);
    const b = makeEngine('b', 2, QUIET);
    learn(a, [['b', 2]]);
    learn(b, [['a', 1]]);
    kill(a, 'b', 0);
    kill(b, 'a', 0);
    let exchanges = 0;
    const answer = (s: PushPullRequest, now: number) => {
      exchanges++;
      return b.handlePushPull(addrOf(1), s.request, now).reply;
    };
    // Both hold the other dead at incarnation 1: the first exchange makes both refute (2), but each
    // still ignores the other's alive at incarnation 1; the follow-up a probe timeout later
    // carries the refutations.
    const calls = drive(a, 0, 2 * LAN.reconnectIntervalMs, answer);
    expect(calls.slice(0, 2).map((c) => c.node)).toEqual(['b', 'b']);
    expect((calls[1] as { time: number }).time - (calls[0] as { time: number }).time).toBe(
      LAN.probeTimeoutMs,
    );
    expect(exchanges).toBeGreaterThanOrEqual(2); // later ones: ordinary push/pulls, b is alive now
    expect(a.node('b')).toMatchObject({ state: 'alive', incarnation: 2 });
    expect(b.node('a')).toMatchObject({ state: 'alive', incarnation: 2 });
    expect(a.localNode().incarnation).toBe(2);
    expect(b.localNode().incarnation).toBe(2);
    expect(a.reconnectCandidates).toEqual([]);
  });

  it('no follow-up when the first exchange already settled it (both sides had reaped the other)', () => {
    const a = makeEngine('a', 1);
    const b = makeEngine('b', 2);
    learn(a, [['b', 2]]);
    kill(a, 'b', 0);
    const reapedBy = LAN.gossipToTheDeadTimeMs + 10 * LAN.probeIntervalMs;
    drive(a, 0, reapedBy);
    expect(a.node('b')).toBeUndefined();
    // b does not know a either: the first exchange teaches each the other alive, nothing to refute
    // In steps of one probe timeout (the follow-up's delay) until the reconnect, then one more step.
    const answer = (s: PushPullRequest, now: number) => b.handlePushPull(addrOf(1), s.request, now).reply;
    let t = reapedBy;
    let calls: ReturnType<typeof drive> = [];
    while (calls.length === 0 && t < reapedBy + 2 * LAN.reconnectIntervalMs) {
      calls = drive(a, t, t + LAN.probeTimeoutMs - 1, answer);
      t += LAN.probeTimeoutMs;
    }
    calls.push(...drive(a, t, t + 2 * LAN.probeTimeoutMs, answer));
    expect(calls.map((c) => c.node)).toEqual(['b']);
    expect(a.localNode().incarnation).toBe(1);
    expect(b.localNode().incarnation).toBe(1);
    expect(a.node('b')?.state).toBe('alive');
    expect(b.node('a')?.state).toBe('alive');
  });
});
