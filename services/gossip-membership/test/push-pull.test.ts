// Join, push/pull merge and the periodic anti-entropy schedule (memberlist Join, pushPull,
// mergeRemoteState; docs/wire.md §15–§16).
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import type { StreamRequest } from '../src/protocol/engine.js';
import { NodeStateCode } from '../src/protocol/messages.js';
import { addrOf, learn, makeEngine, tickUntil } from './helpers/engines.js';

const pushPulls = (streams: StreamRequest[]) =>
  streams.filter((s): s is Extract<StreamRequest, { kind: 'pushPull' }> => s.kind === 'pushPull');

describe('join and push/pull', () => {
  it('join sends our full state with Join = true to every seed, over streams only', () => {
    const a = makeEngine('a', 1);
    const r = a.join([addrOf(2), addrOf(3)], 5);
    expect(r.packets).toEqual([]);
    const reqs = pushPulls(r.streams);
    expect(reqs.map((s) => [s.id, s.to.addr[3], s.request.join, s.deadline])).toEqual([
      [1, 2, true, 5 + lanConfig().tcpTimeoutMs],
      [2, 3, true, 5 + lanConfig().tcpTimeoutMs],
    ]);
    expect(reqs[0]?.request.states).toEqual([
      {
        name: 'a',
        addr: addrOf(1).addr,
        port: 7946,
        meta: null,
        incarnation: 1,
        state: 0,
        vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
      },
    ]);
  });

  it('the responder replies with its state before merging, then both sides know each other', () => {
    const a = makeEngine('a', 1);
    const seed = makeEngine('seed', 2);
    learn(seed, [['c', 3]]);
    const req = pushPulls(a.join([addrOf(2)], 0).streams)[0]!;
    const { reply, ready, error } = seed.handlePushPull(addrOf(1), req.request, 1);
    expect(error).toBeNull();
    expect(reply.join).toBe(true);
    expect(reply.states.map((s) => s.name).sort()).toEqual(['c', 'seed']); // no 'a' yet
    expect(ready.events.map((e) => [e.kind, e.node.name])).toEqual([['join', 'a']]);
    const done = a.pushPullResult(req.id, reply, 2);
    expect(done.error).toBeNull();
    expect(done.join).toBe(true);
    expect(
      a
        .members()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['a', 'c', 'seed']);
    expect(
      seed
        .members()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['a', 'c', 'seed']);
  });

  it('a failed exchange or an incompatible protocol version is reported and nothing is merged', () => {
    const a = makeEngine('a', 1);
    const [r1, r2] = pushPulls(a.join([addrOf(2), addrOf(3)], 0).streams);
    expect(a.pushPullResult(r1!.id, { error: 'connection refused' }, 1).error).toBe('connection refused');
    const bad = {
      join: true,
      userState: new Uint8Array(0),
      states: [
        {
          name: 'x',
          addr: addrOf(3).addr,
          port: 7946,
          meta: null,
          incarnation: 1,
          state: 0,
          vsn: Uint8Array.of(1, 5, 9, 0, 0, 0),
        },
      ],
    };
    expect(a.pushPullResult(r2!.id, bad, 1).error).toMatch(/incompatible/);
    expect(a.node('x')).toBeUndefined();
    expect(a.pushPullResult(99, bad, 1).error).toMatch(/unknown/);
  });

  it('a remote entry with port 0 is recorded at our bind port (memberlist readRemoteState)', () => {
    const a = makeEngine('a', 1);
    const req = pushPulls(a.join([addrOf(2)], 0).streams)[0]!;
    const reply = {
      join: true,
      userState: new Uint8Array(0),
      states: [
        {
          name: 'p0',
          addr: addrOf(5).addr,
          port: 0,
          meta: null,
          incarnation: 1,
          state: 0,
          vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
        },
      ],
    };
    expect(a.pushPullResult(req.id, reply, 1).error).toBeNull();
    expect(a.node('p0')?.port).toBe(lanConfig().bindPort);
  });

  it('a restarted node gets its old Dead state back from the seed and refutes it', () => {
    const seed = makeEngine('seed', 2);
    learn(seed, [['a', 1]]);
    seed.receive(addrOf(9), [{ type: 'dead', body: { node: 'a', incarnation: 3, from: 'seed' } }], 0);
    const a = makeEngine('a', 1, lanConfig(), 42);
    const req = pushPulls(a.join([addrOf(2)], 10).streams)[0]!;
    const { reply } = seed.handlePushPull(addrOf(1), req.request, 11);
    expect(reply.states.find((s) => s.name === 'a')?.state).toBe(NodeStateCode.dead);
    a.pushPullResult(req.id, reply, 12);
    expect(a.localNode()).toMatchObject({ state: 'alive', incarnation: 4 });
  });

  it('runs a periodic push/pull with one random alive peer, Join = false, every scaled interval', () => {
    // Probing off, so the silent peer stays alive for the whole run.
    const a = makeEngine('a', 1, { ...lanConfig(), probeIntervalMs: 0 });
    learn(a, [['b', 2]]);
    const rs = tickUntil(a, 0, 100_000);
    const reqs = pushPulls(rs.flatMap((r) => r.streams));
    const times = rs.flatMap((r, i) => (pushPulls(r.streams).length > 0 ? [i] : []));
    expect(reqs.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBe(reqs.length);
    for (const r of reqs) {
      expect(r.request.join).toBe(false);
      expect(r.to.addr[3]).toBe(2);
      expect(r.node).toBe('b');
    }
    // Consecutive requests are 30 s apart (n ≤ 32).
    const at = reqs.map((r) => r.deadline - lanConfig().tcpTimeoutMs);
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBe(30_000);
    // The first one comes after a random stagger (< 1 interval) plus one interval.
    expect(at[0]).toBeGreaterThanOrEqual(30_000);
    expect(at[0]).toBeLessThan(60_000);
  });
});
