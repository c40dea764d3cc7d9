import { describe, expect, it } from 'vitest';
import { allowedFrom, isTerminal, JOB_STATES, TERMINAL_STATES, TRANSITIONS } from '../src/index.js';

describe('transition table', () => {
  it('has no way out of a terminal state', () => {
    for (const s of TERMINAL_STATES) expect(TRANSITIONS[s]).toEqual([]);
  });
  it('reaches every terminal state from QUEUED', () => {
    const seen = new Set<string>();
    const walk = (s: keyof typeof TRANSITIONS) => {
      for (const n of TRANSITIONS[s]) if (!seen.has(n)) seen.add(n), walk(n);
    };
    walk('NEW');
    for (const s of JOB_STATES) expect(seen.has(s), s).toBe(true);
  });
  it('allowedFrom inverts the table', () => {
    expect(allowedFrom('QUEUED')).toEqual(['NEW']);
    expect(allowedFrom('SUCCEEDED')).toEqual(['UPLOADING']);
    expect(allowedFrom('CANCELED')).toContain('NEW');
    for (const s of JOB_STATES)
      for (const f of allowedFrom(s)) expect(f === 'NEW' || !isTerminal(f)).toBe(true);
  });
});
