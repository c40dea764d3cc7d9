// LRU choice under a quota; environments in use or used recently are never chosen.
import { describe, expect, it } from 'vitest';
import { type CachedEnvironment, chooseVictims } from '../src/core/env/eviction.js';

const env = (key: string, sizeBytes: number, lastUsedMs: number, inUse = false): CachedEnvironment => ({
  key,
  sizeBytes,
  lastUsedMs,
  inUse,
});
const keys = (v: CachedEnvironment[]) => v.map((e) => e.key);

describe('chooseVictims', () => {
  const now = 1_000_000;
  it('removes nothing under quota', () => {
    expect(chooseVictims([env('a', 10, 1), env('b', 10, 2)], 20, now, 0)).toEqual([]);
  });
  it('removes least recently used first, only as many as needed', () => {
    const all = [env('new', 10, 300), env('old', 10, 100), env('mid', 10, 200)];
    expect(keys(chooseVictims(all, 20, now, 0))).toEqual(['old']);
    expect(keys(chooseVictims(all, 5, now, 0))).toEqual(['old', 'mid', 'new']);
  });
  it('never removes an environment in use or inside the grace window, even over quota', () => {
    const all = [env('busy', 50, 1, true), env('recent', 50, now - 10), env('idle', 50, 2)];
    expect(keys(chooseVictims(all, 0, now, 100))).toEqual(['idle']);
  });
  it('breaks ties by key, so the choice is deterministic', () => {
    expect(keys(chooseVictims([env('b', 10, 1), env('a', 10, 1)], 10, now, 0))).toEqual(['a']);
  });
});
