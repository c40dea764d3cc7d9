// The confirmation-accelerated suspicion timer: memberlist suspicion_test.go TestSuspicion_Timer
// (k = 3, min 500 ms, max 2 s), driven by an explicit clock instead of sleeps.
import { describe, expect, it } from 'vitest';
import { Suspicion } from '../src/protocol/suspicion.js';

const K = 3;
const MIN = 500;
const MAX = 2000;
const FUDGE = 25;

describe('Suspicion', () => {
  it.each([
    [0, [], MAX],
    [
      1,
      [
        ['me', false],
        ['foo', true],
      ],
      1250,
    ],
    [
      1,
      [
        ['me', false],
        ['foo', true],
        ['foo', false],
        ['foo', false],
      ],
      1250,
    ],
    // Go's test says 810 within its 25 ms fudge; the exact value is floor(2000 − ln3/ln4 × 1500) = 811.
    [
      2,
      [
        ['me', false],
        ['foo', true],
        ['bar', true],
      ],
      811,
    ],
    [
      3,
      [
        ['me', false],
        ['foo', true],
        ['bar', true],
        ['baz', true],
      ],
      MIN,
    ],
    [
      3,
      [
        ['me', false],
        ['foo', true],
        ['bar', true],
        ['baz', true],
        ['zoo', false],
      ],
      MIN,
    ],
  ] as [number, [string, boolean][], number][])(
    'case %#: %i confirmations',
    (confirmations, pairs, expected) => {
      const s = new Suspicion('me', K, MIN, MAX, 0);
      let t = 0;
      for (const [from, fresh] of pairs) {
        t += FUDGE;
        expect(s.confirm(from, t)).toBe(fresh);
      }
      expect(s.confirmations).toBe(confirmations);
      expect(s.deadline).toBe(expected);
      expect(s.expired(expected - 1)).toBe(false);
      expect(s.expired(expected)).toBe(true);
      // A late confirmation neither revives nor re-arms a fired timer.
      s.confirm('late', expected + 10);
      expect(s.deadline).toBeLessThanOrEqual(expected);
    },
  );

  it('starts at min when no confirmations are expected (k < 1)', () => {
    const s = new Suspicion('me', 0, MIN, MAX, 100);
    expect(s.deadline).toBe(100 + MIN);
    expect(s.confirm('other', 200)).toBe(false);
  });

  it('fires at once when a confirmation leaves no time', () => {
    const s = new Suspicion('me', 1, MIN, MAX, 0);
    expect(s.confirm('other', 1_000)).toBe(true); // timeout min (500) − elapsed (1000) < 0
    expect(s.deadline).toBe(1_000);
    expect(s.expired(1_000)).toBe(true);
  });
});
