// Engine options added for experiments and warm starts: EngineOptions.knownMembers (a converged
// start, nothing gossiped) and ProtocolConfig.disableRefutationBuddy (Lifeguard's ping+suspect
// compound off, for the simulator's Lifeguard-off runs).
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import { Engine } from '../src/protocol/engine.js';
import type { Alive } from '../src/protocol/messages.js';
import { createRng } from '../src/protocol/prng.js';
import { addrOf, learn, makeEngine, packets, tickUntil, VSN } from './helpers/engines.js';

const alive = (node: string, last: number): Alive => ({
  node,
  incarnation: 1,
  addr: addrOf(last).addr,
  port: 7946,
  meta: null,
  vsn: VSN,
});

describe('EngineOptions.knownMembers (warm start)', () => {
  it('knows the peers alive at once, queues nothing and emits nothing', () => {
    const peers = [alive('a', 1), alive('b', 2), alive('c', 3)];
    const a = new Engine({ name: 'a', address: addrOf(1), rng: createRng(1), now: 0, knownMembers: peers });
    expect(a.members().map((m) => [m.name, m.state])).toEqual([
      ['a', 'alive'],
      ['b', 'alive'],
      ['c', 'alive'],
    ]);
    expect(a.estNumNodes).toBe(3);
    expect(a.queuedBroadcasts).toBe(0);
    const first = a.tick(0);
    expect(first.events).toEqual([]);
    // it probes them like any member: a ping goes out within one probe interval
    const sent = packets(tickUntil(a, 0, 1_000));
    expect(sent.some((p) => p.messages[0]?.type === 'ping')).toBe(true);
  });

  it('without it the same engine starts alone', () => {
    const a = new Engine({ name: 'a', address: addrOf(1), rng: createRng(1), now: 0 });
    expect(a.members().map((m) => m.name)).toEqual(['a']);
  });
});

describe('ProtocolConfig.disableRefutationBuddy', () => {
  function pingToSuspect(disable: boolean) {
    const config = { ...lanConfig(), disableRefutationBuddy: disable };
    const a = makeEngine('a', 1, config);
    learn(a, [['b', 2]]);
    a.receive(addrOf(9), [{ type: 'suspect', body: { node: 'b', incarnation: 1, from: 'z' } }], 0);
    const ping = packets(tickUntil(a, 0, 1_000)).find((p) => p.messages[0]?.type === 'ping');
    if (ping === undefined) throw new Error('no ping');
    return ping;
  }

  it('off (default): the ping to a suspect node is the buddy compound [ping, suspect{from: us}]', () => {
    const p = pingToSuspect(false);
    expect(p.messages.map((m) => m.type)).toEqual(['ping', 'suspect']);
    expect(p.messages[1]).toEqual({ type: 'suspect', body: { node: 'b', incarnation: 1, from: 'a' } });
    expect(p.node).toBe('b');
  });

  it('on: a plain ping through sendMsg (only queued gossip piggybacked, no suspect from us)', () => {
    const p = pingToSuspect(true);
    expect(p.messages[0]?.type).toBe('ping');
    expect(p.node).toBeUndefined();
    expect(p.messages.some((m) => m.type === 'suspect' && m.body.from === 'a')).toBe(false);
  });
});
