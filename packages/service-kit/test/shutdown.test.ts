import { logSink } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { backoffDelay, closeAll, versionAtLeast } from '../src/index.js';

describe('closeAll', () => {
  it('closes in order and reports a clean stop', async () => {
    const order: string[] = [];
    const ok = await closeAll(
      [
        { name: 'a', close: () => void order.push('a') },
        { name: 'b', close: async () => void order.push('b') },
      ],
      1000,
      logSink().logger,
    );
    expect(ok).toBe(true);
    expect(order).toEqual(['a', 'b']);
  });

  it('keeps going past a closer that throws or hangs, within the deadline', async () => {
    const order: string[] = [];
    const sink = logSink();
    const started = Date.now();
    const ok = await closeAll(
      [
        { name: 'throws', close: () => Promise.reject(new Error('x')) },
        { name: 'hangs', close: () => new Promise<void>(() => {}) },
        { name: 'last', close: () => void order.push('last') },
      ],
      300,
      sink.logger,
    );
    expect(ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sink.find((l) => l.closer === 'throws' && l.msg === 'close failed')).toBeDefined();
    expect(sink.find((l) => l.closer === 'hangs')).toBeDefined();
  });
});

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base·2^n))', () => {
    const p = { baseMs: 100, capMs: 1000 };
    expect(backoffDelay(0, p, () => 0.999)).toBe(99);
    expect(backoffDelay(3, p, () => 0.5)).toBe(400);
    expect(backoffDelay(10, p, () => 0.999)).toBe(999);
    expect(backoffDelay(10, p, () => 0)).toBe(0);
  });
});

describe('versionAtLeast', () => {
  it.each([
    ['7.2.0', '7.2.0', true],
    ['7.0.15', '7.2.0', false],
    ['7.10.1', '7.2.0', true],
    ['8.0.0', '7.2.0', true],
    ['6.2.14', '7.2.0', false],
  ])('%s ≥ %s is %s', (a, b, want) => {
    expect(versionAtLeast(a, b)).toBe(want);
  });
});
