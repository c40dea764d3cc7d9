// memberlist's inbound handoff modelled (src/protocol/inbound-queue.ts) and driven through the member
// table: a flood of suspicions does not starve the alive that refutes them.
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import { InboundQueue } from '../src/protocol/inbound-queue.js';
import { MemberTable } from '../src/protocol/members.js';
import type { Alive, Message, Suspect } from '../src/protocol/messages.js';
import { createRng } from '../src/protocol/prng.js';

const VSN = Uint8Array.of(1, 5, 2, 0, 0, 0);
const aliveBody = (node: string, incarnation: number): Alive => ({
  node,
  incarnation,
  addr: Uint8Array.of(10, 0, 0, 2),
  port: 7946,
  meta: null,
  vsn: VSN,
});
const suspectBody = (node: string, incarnation: number, from: string): Suspect => ({
  node,
  incarnation,
  from,
});
const alive = (node: string, incarnation: number): Message => ({
  type: 'alive',
  body: aliveBody(node, incarnation),
});
const suspect = (node: string, incarnation: number, from: string): Message => ({
  type: 'suspect',
  body: suspectBody(node, incarnation, from),
});

describe('InboundQueue', () => {
  it('answers probe traffic inline, queues the rest, drops beyond 1024 per queue', () => {
    const q = new InboundQueue();
    expect(q.push({ type: 'ping', body: { seqNo: 1, node: 'a' } }, null)).toBe('inline');
    expect(q.push({ type: 'ackResp', body: { seqNo: 1, payload: null } }, null)).toBe('inline');
    for (let i = 0; i < 1024; i++) expect(q.push(suspect('x', 1, `n${i}`), null)).toBe('queued');
    expect(q.push(suspect('x', 1, 'late'), null)).toBe('dropped');
    // The alive queue is separate: a full low-priority queue does not drop an alive.
    expect(q.push(alive('x', 2), null)).toBe('queued');
    expect(q.length).toBe(1025);
    expect(q.dropped).toBe(1);
  });

  it('hands out alive first, then the newest of the rest', () => {
    const q = new InboundQueue();
    q.push(suspect('x', 1, 'a'), 1);
    q.push(suspect('x', 1, 'b'), 2);
    q.push(alive('x', 2), 3);
    expect(q.next()?.from).toBe(3);
    expect(q.next()?.from).toBe(2);
    expect(q.next()?.from).toBe(1);
    expect(q.next()).toBeUndefined();
  });

  it('under a flood of 5 000 suspicions, the refuting alive is applied before any of them', () => {
    const events: string[] = [];
    const table = new MemberTable({
      localName: 'self',
      config: lanConfig(),
      rng: createRng(3),
      hooks: {
        broadcast: () => {},
        event: (e) => events.push(`${e.kind}:${e.node.name}`),
        refuted: () => {},
      },
    });
    table.nextIncarnation();
    table.aliveNode(aliveBody('self', 1), 0, true);
    table.aliveNode(aliveBody('peer', 1), 0);
    events.length = 0;

    const q = new InboundQueue();
    // The flood arrives first, the peer's refutation (incarnation 2) last.
    for (let i = 0; i < 5000; i++) q.push(suspect('peer', 1, `accuser-${i % 50}`), null);
    expect(q.push(alive('peer', 2), null)).toBe('queued');
    expect(q.dropped).toBe(5000 - 1024);

    let handled = 0;
    for (let m = q.next(); m !== undefined; m = q.next()) {
      handled++;
      if (m.message.type === 'alive') table.aliveNode(m.message.body, 1);
      if (m.message.type === 'suspect') table.suspectNode(m.message.body, 1);
    }
    expect(handled).toBe(1025);
    // The alive at incarnation 2 came first, so every suspicion at incarnation 1 was stale.
    expect(table.get('peer')).toMatchObject({ state: 'alive', incarnation: 2 });
    expect(events).not.toContain('suspect:peer');

    // Arrival order (no handoff) would have made the peer suspect first.
    const fifo: string[] = [];
    const t2 = new MemberTable({
      localName: 'self',
      config: lanConfig(),
      rng: createRng(3),
      hooks: { broadcast: () => {}, event: (e) => fifo.push(`${e.kind}:${e.node.name}`), refuted: () => {} },
    });
    t2.nextIncarnation();
    t2.aliveNode(aliveBody('peer', 1), 0);
    t2.suspectNode(suspectBody('peer', 1, 'accuser-0'), 1);
    expect(fifo).toContain('suspect:peer');
  });
});
