// The probe loop and Lifeguard adjustments (memberlist state.go probeNode, net.go
// handlePing / handleIndirectPing; docs/wire.md §12), driven by hand through the engine.
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import type { Engine, OutPacket, Ready } from '../src/protocol/engine.js';
import { addrOf, first, lastByte, learn, makeEngine, packets, tickUntil } from './helpers/engines.js';

/** Ticks until the engine sends its first probe ping; returns it and the time. */
function nextPing(e: Engine, from: number): { packet: OutPacket; at: number; ready: Ready } {
  let t = from;
  for (let i = 0; i < 10_000; i++) {
    const r = e.tick(t);
    const p = r.packets.find((x) => x.messages[0]?.type === 'ping');
    if (p !== undefined) return { packet: p, at: t, ready: r };
    t = r.nextDeadline;
  }
  throw new Error('no ping');
}

describe('probing', () => {
  it('pings a live node with its name and our Source fields; an ack ends the probe', () => {
    const a = makeEngine('a', 1);
    const b = makeEngine('b', 2);
    learn(a, [['b', 2]]);
    const { packet, at } = nextPing(a, 0);
    expect(at).toBeLessThan(lanConfig().probeIntervalMs); // random initial stagger < 1 interval
    expect(lastByte(packet.to)).toBe(2);
    expect(packet.crc).toBe(false);
    const ping = first(packet, 'ping')?.body;
    expect(ping).toMatchObject({ node: 'b', sourceNode: 'a', sourcePort: 7946 });
    expect([...(ping?.sourceAddr ?? [])]).toEqual([10, 0, 0, 1]);
    // The ping piggybacks a's queued alive broadcasts (its own and b's).
    expect(packet.messages.slice(1).map((m) => m.type)).toEqual(['alive', 'alive']);

    const reply = b.receive(addrOf(99), packet.messages.slice(0, 1), at + 3);
    expect(reply.packets).toHaveLength(1);
    expect(lastByte(reply.packets[0]?.to ?? addrOf(0))).toBe(1); // Source fields win over the UDP source
    const ack = first(reply.packets[0], 'ackResp')?.body;
    expect(ack).toEqual({ seqNo: ping?.seqNo, payload: null });
    const done = a.receive(addrOf(2), [{ type: 'ackResp', body: ack! }], at + 6);
    expect(done.probes).toEqual([{ node: 'b', ok: true, via: 'direct-or-indirect', awarenessDelta: -1 }]);
    expect(a.healthScore).toBe(0);
    // Nothing more about this probe: no indirect pings at the probe timeout.
    const later = tickUntil(a, at + 6, at + 999);
    expect(packets(later).filter((p) => p.messages[0]?.type === 'indirectPing')).toEqual([]);
  });

  it('answers pings without Source fields to the UDP source and ignores pings for another name', () => {
    const b = makeEngine('b', 2);
    const r1 = b.receive(addrOf(9), [{ type: 'ping', body: { seqNo: 4, node: '' } }], 0);
    expect(lastByte(r1.packets[0]?.to ?? addrOf(0))).toBe(9);
    const r2 = b.receive(addrOf(9), [{ type: 'ping', body: { seqNo: 5, node: 'someone-else' } }], 0);
    expect(r2.packets).toEqual([]);
    expect(b.handleStreamPing({ seqNo: 6, node: 'b' })).toEqual({ seqNo: 6, payload: null });
    expect(b.handleStreamPing({ seqNo: 7, node: 'x' })).toBeNull();
  });

  it('no ack: indirect pings with nack + TCP fallback at the probe timeout, then suspect at the interval', () => {
    const a = makeEngine('a', 1);
    learn(a, [
      ['b', 2],
      ['c', 3],
      ['d', 4],
      ['e', 5],
    ]);
    // Let the initial broadcasts drain so packets stay readable.
    const { packet, at } = nextPing(a, 0);
    const target = first(packet, 'ping')?.body.node as string;
    const seqNo = first(packet, 'ping')?.body.seqNo as number;
    const rs = tickUntil(a, at + 1, at + lanConfig().probeTimeoutMs);
    const indirect = packets(rs).filter((p) => p.messages[0]?.type === 'indirectPing');
    expect(indirect).toHaveLength(3); // IndirectChecks
    for (const p of indirect) {
      const ind = first(p, 'indirectPing')?.body;
      expect(ind).toMatchObject({ seqNo, node: target, nack: true, port: 7946, sourceNode: 'a' });
      expect(p.to).not.toEqual(packet.to);
    }
    const tcp = rs.flatMap((r) => r.streams);
    expect(tcp).toEqual([
      {
        kind: 'tcpPing',
        id: seqNo,
        to: packet.to,
        node: target,
        ping: first(packet, 'ping')?.body,
        deadline: at + 1000,
      },
    ]);
    // One nack of three arrives; TCP fails; the interval runs out.
    a.receive(indirect[0]!.to, [{ type: 'nackResp', body: { seqNo } }], at + 700);
    a.tcpPingResult(seqNo, false, at + 800);
    const end = tickUntil(a, at + 800, at + 1000);
    const result = end.flatMap((r) => r.probes);
    expect(result).toEqual([{ node: target, ok: false, via: 'none', awarenessDelta: 2 }]);
    expect(a.healthScore).toBe(2);
    expect(a.node(target)?.state).toBe('suspect');
    expect(end.flatMap((r) => r.events).map((e) => [e.kind, e.node.name])).toEqual([['suspect', target]]);

    // Lifeguard: the next probe (started on the same grid tick) lasts interval × (score + 1) = 3 s.
    const next = packets(end).find((p) => p.messages[0]?.type === 'ping');
    expect(next).toBeDefined();
    const deadlines = tickUntil(a, at + 1000, at + 3999).flatMap((r) => r.streams.map((s) => s.deadline));
    expect(deadlines[0]).toBe(at + 1000 + 3000);
  });

  it('all expected nacks arriving means the fault is not ours: no health penalty', () => {
    const a = makeEngine('a', 1);
    learn(a, [
      ['b', 2],
      ['c', 3],
    ]);
    const { packet, at } = nextPing(a, 0);
    const seqNo = first(packet, 'ping')?.body.seqNo as number;
    tickUntil(a, at, at + 500);
    a.receive(addrOf(3), [{ type: 'nackResp', body: { seqNo } }], at + 600);
    const end = tickUntil(a, at + 600, at + 1000).flatMap((r) => r.probes);
    expect(end[0]?.awarenessDelta).toBe(0);
    expect(a.healthScore).toBe(0);
  });

  it('a relayed ack or a TCP fallback success counts as a successful probe', () => {
    for (const via of ['direct-or-indirect', 'tcp'] as const) {
      const a = makeEngine('a', 1);
      learn(a, [
        ['b', 2],
        ['c', 3],
      ]);
      const { packet, at } = nextPing(a, 0);
      const seqNo = first(packet, 'ping')?.body.seqNo as number;
      const rs = tickUntil(a, at, at + 500);
      rs.push(
        via === 'tcp'
          ? a.tcpPingResult(seqNo, true, at + 600)
          : a.receive(addrOf(3), [{ type: 'ackResp', body: { seqNo, payload: null } }], at + 600),
      );
      rs.push(...tickUntil(a, at + 600, at + 1000));
      expect(rs.flatMap((r) => r.probes)).toEqual([
        { node: first(packet, 'ping')?.body.node, ok: true, via, awarenessDelta: -1 },
      ]);
      expect(a.node(first(packet, 'ping')?.body.node as string)?.state).toBe('alive');
    }
  });

  it('relays an indirect ping: pings the target, forwards its ack with the original seq, or nacks', () => {
    const c = makeEngine('c', 3);
    const req = {
      seqNo: 77,
      target: addrOf(2).addr,
      port: 7946,
      node: 'b',
      nack: true,
      sourceAddr: addrOf(1).addr,
      sourcePort: 7946,
      sourceNode: 'a',
    };
    const r = c.receive(addrOf(1), [{ type: 'indirectPing', body: req }], 0);
    const ping = first(r.packets[0], 'ping')?.body;
    expect(lastByte(r.packets[0]!.to)).toBe(2);
    expect(ping).toMatchObject({ node: 'b', sourceNode: 'c' });
    const fwd = c.receive(addrOf(2), [{ type: 'ackResp', body: { seqNo: ping!.seqNo, payload: null } }], 10);
    expect(lastByte(fwd.packets[0]!.to)).toBe(1);
    expect(first(fwd.packets[0], 'ackResp')?.body).toEqual({ seqNo: 77, payload: null });
    // Second request: no ack → a nack after the probe timeout, and nothing for a late ack.
    const r2 = c.receive(addrOf(1), [{ type: 'indirectPing', body: { ...req, seqNo: 78 } }], 1_000);
    const seq2 = first(r2.packets[0], 'ping')?.body.seqNo as number;
    expect(c.tick(1_499).packets.filter((p) => p.messages[0]?.type === 'nackResp')).toEqual([]);
    const nack = c.tick(1_500).packets.filter((p) => p.messages[0]?.type === 'nackResp');
    expect(nack.map((p) => [lastByte(p.to), first(p, 'nackResp')?.body.seqNo])).toEqual([[1, 78]]);
    expect(
      c.receive(addrOf(2), [{ type: 'ackResp', body: { seqNo: seq2, payload: null } }], 1_600).packets,
    ).toEqual([]);
  });

  it('probes a suspect node with compound [ping, suspect] so it can refute; CRC when its PMax ≥ 5', () => {
    const a = makeEngine('a', 1);
    learn(a, [['b', 2]]);
    a.receive(addrOf(9), [{ type: 'suspect', body: { node: 'b', incarnation: 1, from: 'z' } }], 0);
    const { packet } = nextPing(a, 0);
    expect(packet.messages.map((m) => m.type)).toEqual(['ping', 'suspect']);
    expect(first(packet, 'suspect')?.body).toEqual({ node: 'b', incarnation: 1, from: 'a' });
    expect(packet.crc).toBe(true);
    expect(packet.node).toBe('b');
    // b refutes when it gets it.
    const b = makeEngine('b', 2);
    b.receive(addrOf(1), packet.messages, 1);
    expect(b.localNode().incarnation).toBe(2);
    expect(b.healthScore).toBe(1);
  });

  it('visits every live node once per round and skips dead ones', () => {
    const a = makeEngine('a', 1);
    learn(a, [
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
    a.receive(addrOf(9), [{ type: 'dead', body: { node: 'd', incarnation: 1, from: 'z' } }], 0);
    const targets: string[] = [];
    let t = 0;
    for (let i = 0; i < 6; i++) {
      const { packet, at } = nextPing(a, t);
      targets.push(first(packet, 'ping')?.body.node as string);
      a.receive(
        packet.to,
        [{ type: 'ackResp', body: { seqNo: first(packet, 'ping')!.body.seqNo, payload: null } }],
        at + 1,
      );
      t = at + 1;
    }
    expect(targets.slice(0, 2).sort()).toEqual(['b', 'c']);
    expect(targets.slice(2, 4).sort()).toEqual(['b', 'c']);
    expect(targets).not.toContain('d');
  });
});
