// An idle engine (nothing queued to gossip) asks for no gossip wake-ups, and a broadcast queued
// later still goes out on the gossip grid, as if every empty round had run.
import { describe, expect, it } from 'vitest';
import { lanConfig } from '../src/protocol/config.js';
import { learn, makeEngine, packets, tickUntil } from './helpers/engines.js';

// Probing, push/pull and reconnect off: gossip is the only loop left.
const config = { ...lanConfig(), probeIntervalMs: 0, pushPullIntervalMs: 0, reconnectIntervalMs: 0 };
const interval = config.gossipIntervalMs;

describe('engine: idle gossip', () => {
  it('reports no gossip deadline once the queue is empty, and resumes on the grid', () => {
    const a = makeEngine('a', 1, config);
    learn(a, [['b', 2]]);
    const drain = tickUntil(a, 0, 20_000);
    expect(a.queuedBroadcasts).toBe(0);
    expect(drain.at(-1)?.nextDeadline).toBe(Number.POSITIVE_INFINITY);

    // A gossip round that sent something fixes the grid: rounds are at gridPoint + k × interval.
    // A twin (same seed, same inputs) shows where that grid is.
    const twin = makeEngine('a', 1, config);
    learn(twin, [['b', 2]]);
    let t = 0;
    let gridPoint = Number.NaN;
    for (let guard = 0; guard < 1000 && Number.isNaN(gridPoint); guard++) {
      const r = twin.tick(t);
      if (r.packets.length > 0) gridPoint = t;
      t = r.nextDeadline;
    }
    expect(Number.isNaN(gridPoint)).toBe(false);

    // A new member learnt off the grid, long after the queue emptied.
    const at = 30_000 + Math.floor(interval / 3) + 7;
    const r = learn(a, [['c', 3]], at);
    expect(a.queuedBroadcasts).toBeGreaterThan(0);
    expect(r.nextDeadline).toBeGreaterThanOrEqual(at);
    expect(r.nextDeadline).toBeLessThan(at + interval);
    expect((r.nextDeadline - gridPoint) % interval).toBe(0);

    // Nothing is sent before that round; at it, the alive goes out.
    expect(a.tick(r.nextDeadline - 1).packets).toHaveLength(0);
    const sent = packets([a.tick(r.nextDeadline)]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]?.messages.some((m) => m.type === 'alive' && m.body.node === 'c')).toBe(true);
  });
});
