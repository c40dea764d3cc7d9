// The transmit-limited queue, with memberlist queue_test.go's cases and the ordering rules of
// docs/wire.md §14. Messages are strings measured by their length.
import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../src/protocol/broadcast-queue.js';

const queue = (retransmitMult: number, n: number) =>
  new BroadcastQueue<string>({ size: (m) => m.length, numNodes: () => n, retransmitMult });

describe('BroadcastQueue', () => {
  it('invalidates a queued message of the same name (TestTransmitLimited_Queue)', () => {
    const q = queue(1, 1);
    const finished: string[] = [];
    q.queue('test-1', 'test', () => finished.push('test-1'));
    q.queue('foo', 'foo');
    q.queue('bar', 'bar');
    expect(q.length).toBe(3);
    q.queue('test-2', 'test');
    expect(q.length).toBe(3);
    expect(finished).toEqual(['test-1']);
    expect(q.peek()).toContain('test-2');
    expect(q.peek()).not.toContain('test-1');
  });

  it('fills a byte budget with per-message overhead (TestTransmitLimited_GetBroadcasts)', () => {
    const q = queue(3, 10);
    for (const s of ['1', '2', '3', '4']) q.queue(`${s}. this is a test.`, s); // 18 bytes each
    expect(q.getBroadcasts(2, 80)).toHaveLength(4); // 4 × 20 = 80
    expect(q.getBroadcasts(3, 80)).toHaveLength(3); // 4 × 21 > 80
  });

  it('drops a message after retransmitLimit transmissions (TestTransmitLimited_GetBroadcasts_Limit)', () => {
    const q = queue(1, 10); // limit = 1 × ceil(log10(11)) = 2
    const finished: string[] = [];
    for (const s of ['1', '2', '3', '4']) q.queue(`${s}. this is a test.`, s, () => finished.push(s));
    expect(q.getBroadcasts(3, 80)).toHaveLength(3);
    expect(q.getBroadcasts(3, 80)).toHaveLength(3);
    expect(q.getBroadcasts(3, 80)).toHaveLength(2);
    expect(q.getBroadcasts(3, 80)).toHaveLength(0);
    expect(q.length).toBe(0);
    expect(finished.sort()).toEqual(['1', '2', '3', '4']);
  });

  it('orders by fewer transmissions, then larger, then newer', () => {
    const q = queue(10, 10);
    q.queue('aa', 'a'); // id 1
    q.queue('bbbb', 'b'); // id 2
    q.queue('cc', 'c'); // id 3
    expect(q.peek()).toEqual(['bbbb', 'cc', 'aa']);
    // Send only the largest one: it moves behind the untransmitted ones.
    expect(q.getBroadcasts(0, 4)).toEqual(['bbbb']);
    expect(q.peek()).toEqual(['cc', 'aa', 'bbbb']);
  });

  it('takes the largest message that still fits, then smaller ones, walking the tiers', () => {
    const q = queue(10, 10);
    q.queue('x'.repeat(50), 'big');
    q.queue('y'.repeat(20), 'mid');
    q.queue('z'.repeat(5), 'small');
    // Budget 30 with overhead 2: 50 does not fit, 20 does (22 used), then 5 (29 used).
    expect(q.getBroadcasts(2, 30)).toEqual(['y'.repeat(20), 'z'.repeat(5)]);
    // Next call: the untransmitted 50-byte one leads when it fits.
    expect(q.getBroadcasts(2, 100)).toEqual(['x'.repeat(50), 'y'.repeat(20), 'z'.repeat(5)]);
  });

  it('does not return the same message twice in one packet', () => {
    const q = queue(10, 10);
    q.queue('only', 'only');
    expect(q.getBroadcasts(2, 1000)).toEqual(['only']);
  });

  it('keeps unnamed messages side by side', () => {
    const q = queue(1, 1);
    q.queue('a');
    q.queue('a');
    expect(q.length).toBe(2);
  });

  it('prunes the most transmitted, smallest, oldest first; reset finishes everything', () => {
    const q = queue(10, 10);
    const finished: string[] = [];
    for (const m of ['aaa', 'bb', 'c', 'dd']) q.queue(m, m, () => finished.push(m));
    q.prune(2);
    expect(q.peek()).toEqual(['aaa', 'dd']);
    expect(finished).toEqual(['c', 'bb']);
    q.reset();
    expect(q.length).toBe(0);
    expect(finished).toEqual(['c', 'bb', 'aaa', 'dd']);
  });
});
