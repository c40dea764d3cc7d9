// Engine-level behaviour not covered elsewhere: gossip, leave, meta updates, user messages,
// deadlines and determinism.
import { describe, expect, it } from 'vitest';
import { lanConfig, localConfig } from '../src/protocol/config.js';
import { Engine } from '../src/protocol/engine.js';
import type { Message } from '../src/protocol/messages.js';
import { createRng } from '../src/protocol/prng.js';
import { estimateSize } from '../src/wire/message-size.js';
import { addrOf, learn, makeEngine, packets, tickUntil } from './helpers/engines.js';

describe('engine', () => {
  it('starts alive at incarnation 1 with the 0.2.2 Vsn and reports itself as joined', () => {
    const e = new Engine({
      name: 'a',
      address: addrOf(1),
      rng: createRng(1),
      now: 0,
      meta: Uint8Array.of(1),
    });
    expect(e.localNode()).toMatchObject({ name: 'a', incarnation: 1, state: 'alive', port: 7946 });
    expect([...e.localNode().vsn]).toEqual([1, 5, 2, 0, 0, 0]);
    expect(e.members()).toHaveLength(1);
    expect(e.queuedBroadcasts).toBe(1);
    expect(e.config).toEqual(lanConfig());
    const first = e.tick(0);
    expect(Number.isFinite(first.nextDeadline)).toBe(true);
  });

  it('gossips queued broadcasts to up to GossipNodes peers every GossipInterval, with CRC for PMax ≥ 5', () => {
    const a = makeEngine('a', 1);
    learn(a, [
      ['b', 2],
      ['c', 3],
      ['d', 4],
      ['e', 5, Uint8Array.of(1, 4, 2, 0, 0, 0)],
    ]);
    const gossip = packets(tickUntil(a, 0, 199)).filter((p) => p.node !== undefined);
    expect(gossip.length).toBeGreaterThan(0);
    expect(gossip.length).toBeLessThanOrEqual(3);
    for (const p of gossip) {
      expect(p.messages.every((m) => m.type === 'alive')).toBe(true);
      expect(p.crc).toBe(p.node !== 'e');
    }
  });

  it('stops re-gossiping a message after retransmitLimit transmissions', () => {
    const a = makeEngine('a', 1);
    learn(a, [['b', 2]]);
    tickUntil(a, 0, 20_000);
    expect(a.queuedBroadcasts).toBe(0);
  });

  it('leave: our dead{From: us} is gossiped; leaveComplete once sent transmitLimit times', () => {
    // Probing off, so the silent peer stays alive for the whole run.
    const a = makeEngine('a', 1, { ...lanConfig(), probeIntervalMs: 0 });
    learn(a, [['b', 2]]);
    tickUntil(a, 0, 5_000); // drain the joins
    const r = a.leave(5_000);
    expect(r.leaveComplete).toBe(false);
    expect(a.localNode().state).toBe('left');
    expect(r.events.map((e) => [e.kind, e.node.name])).toEqual([['left', 'a']]);
    const rs = tickUntil(a, 5_000, 10_000);
    const sent = packets(rs)
      .flatMap((p) => p.messages)
      .filter((m) => m.type === 'dead');
    expect(sent[0]).toEqual({ type: 'dead', body: { node: 'a', incarnation: 1, from: 'a' } });
    expect(sent).toHaveLength(4); // LAN limit for n = 2: 4 × ceil(log10 3)
    expect(rs.filter((x) => x.leaveComplete)).toHaveLength(1);
    // After leaving, an alive about us is ignored and a dead about us is not refuted.
    a.receive(addrOf(2), [{ type: 'suspect', body: { node: 'a', incarnation: 1, from: 'b' } }], 10_001);
    expect(a.localNode()).toMatchObject({ state: 'left', incarnation: 1 });
    // Leaving twice does nothing.
    expect(a.leave(10_002).leaveComplete).toBe(false);
  });

  it('leave with nobody else alive completes at once', () => {
    const a = makeEngine('a', 1);
    expect(a.leave(0).leaveComplete).toBe(true);
  });

  it('updateMeta bumps the incarnation and gossips the new meta; peers fire update', () => {
    const a = makeEngine('a', 1);
    const b = makeEngine('b', 2);
    learn(b, [['a', 1]]);
    const r = a.updateMeta(Uint8Array.of(9, 9), 100);
    expect(r.events.map((e) => e.kind)).toEqual(['update']);
    expect(a.localNode()).toMatchObject({ incarnation: 2, meta: Uint8Array.of(9, 9) });
    const msg: Message = {
      type: 'alive',
      body: {
        node: 'a',
        incarnation: 2,
        addr: addrOf(1).addr,
        port: 7946,
        meta: Uint8Array.of(9, 9),
        vsn: a.localNode().vsn,
      },
    };
    expect(b.receive(addrOf(1), [msg], 101).events.map((e) => e.kind)).toEqual(['update']);
  });

  it('passes user messages through, and an alive with port 0 gets the bind port', () => {
    const a = makeEngine('a', 1);
    const r = a.receive(addrOf(7), [{ type: 'user', body: Uint8Array.of(1, 2) }], 0);
    expect(r.userMessages).toEqual([{ from: addrOf(7), payload: Uint8Array.of(1, 2) }]);
    a.receive(
      addrOf(7),
      [
        {
          type: 'alive',
          body: {
            node: 'z',
            incarnation: 1,
            addr: addrOf(7).addr,
            port: 0,
            meta: null,
            vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
          },
        },
      ],
      0,
    );
    expect(a.node('z')?.port).toBe(lanConfig().bindPort);
  });

  it('piggybacks broadcasts on acks within the UDP budget', () => {
    const a = new Engine({
      name: 'a',
      address: addrOf(1),
      rng: createRng(1),
      now: 0,
      config: localConfig(),
      packetOverhead: 1300,
    });
    learn(a, [
      ['b', 2],
      ['c', 3],
    ]);
    const r = a.receive(addrOf(2), [{ type: 'ping', body: { seqNo: 1, node: 'a' } }], 0);
    const p = r.packets[0]!;
    const used = p.messages.reduce((n, m) => n + estimateSize(m) + 2, 2);
    expect(p.messages.length).toBeGreaterThan(1);
    expect(used).toBeLessThanOrEqual(localConfig().udpBufferSize - 1300 + 2);
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const a = makeEngine('a', 1, lanConfig(), 7);
      learn(a, [
        ['b', 2],
        ['c', 3],
      ]);
      return JSON.stringify(
        tickUntil(a, 0, 10_000).map((r) => [r.nextDeadline, r.packets.length, r.events.length]),
      );
    };
    expect(run()).toBe(run());
  });
});
