import { describe, expect, it } from 'vitest';
import { type ChaosPlanOptions, formatSummary, judge, planChaos, prng } from '../src/chaos/plan.js';

const opts: ChaosPlanOptions = {
  seed: 7,
  jobs: 30,
  durationMs: 75_000,
  serviceKills: 6,
  redisRestarts: 2,
  redisKills: 1,
  s3OutagesMs: [6_000],
  webhookOutagesMs: [6_000],
};

describe('chaos plan', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(planChaos(opts)).toEqual(planChaos(opts));
    expect(planChaos(opts)).not.toEqual(planChaos({ ...opts, seed: 8 }));
    const r = prng(1);
    const xs = Array.from({ length: 1000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('schedules every submission and fault, sorted, redis events apart', () => {
    const plan = planChaos(opts);
    expect(plan.map((e) => e.atMs)).toEqual([...plan.map((e) => e.atMs)].sort((a, b) => a - b));
    const count = (k: string) => plan.filter((e) => e.kind === k).length;
    expect(count('submit')).toBe(30);
    expect(count('kill-service')).toBe(6);
    expect(count('restart-redis')).toBe(2);
    expect(count('kill-redis')).toBe(1);
    const redis = plan.filter((e) => e.kind.endsWith('-redis')).map((e) => e.atMs);
    for (let i = 1; i < redis.length; i++)
      expect((redis[i] ?? 0) - (redis[i - 1] ?? 0)).toBeGreaterThanOrEqual(8_000);
    for (const e of plan.filter((e) => e.kind !== 'submit')) {
      expect(e.atMs).toBeGreaterThanOrEqual(7_500);
      expect(e.atMs).toBeLessThan(67_500);
    }
  });

  it('judges lost jobs and duplicates', () => {
    const ok = { terminalEntries: 1, resultsComplete: true };
    const v = judge([
      { jobId: 'a', state: 'SUCCEEDED', ...ok, notificationKeys: ['k-a'] },
      { jobId: 'b', state: 'RUNNING', ...ok, notificationKeys: [] },
      { jobId: 'c', state: 'SUCCEEDED', ...ok, resultsComplete: false, notificationKeys: ['k-c'] },
      { jobId: 'd', state: 'FAILED', reason: 'DOWNLOAD_FAILED', ...ok, notificationKeys: ['k-d', 'k-d'] },
      { jobId: 'e', state: 'FAILED', ...ok, terminalEntries: 2, notificationKeys: ['k-e', 'other'] },
      { jobId: 'f', state: undefined, terminalEntries: 0, resultsComplete: false, notificationKeys: [] },
    ]);
    expect(v.lost).toEqual(['b', 'c', 'f']);
    expect(v.duplicated).toEqual(['d']);
    expect(v.unexplainedDuplicates).toEqual(['e']);
    expect(v.doubleTerminal).toEqual(['e']);
    expect(v.byState).toEqual({
      SUCCEEDED: 2,
      RUNNING: 1,
      FAILED: 1,
      'FAILED (DOWNLOAD_FAILED)': 1,
      'NO RECORD': 1,
    });
    const table = formatSummary({
      seed: 7,
      verdict: v,
      kills: { 'job-executor': 2 },
      redisRestarts: 2,
      redisKills: 1,
      s3Outages: [10_000, 60_000, 300_000],
      webhookOutages: [600_000],
      s3Faulted: 10,
      webhookFaulted: 3,
      pendingJobs: 0,
      pendingResults: 0,
      foldersLeft: 0,
      wallMs: 1234,
    });
    expect(table).toMatch(/\| lost +\| 3 +\|/);
    expect(table).toMatch(/\| kill -9 job-executor +\| 2 +\|/);
    expect(table).toMatch(/\| S3 outages \(503s served\) +\| 10 s, 60 s, 5 min \(10\) +\|/);
    expect(table).toMatch(/\| webhook outages \(503s served\) +\| 10 min \(3\) +\|/);
    expect(table).toMatch(/\| job folders left on disk +\| 0 +\|/);
  });

  it('lays outages of one kind one after the other inside the fault window, at their length', () => {
    const full = {
      ...opts,
      durationMs: 14 * 60_000,
      s3OutagesMs: [10_000, 60_000, 300_000],
      webhookOutagesMs: [600_000],
    };
    for (const seed of [1, 2, 3, 4, 5]) {
      const plan = planChaos({ ...full, seed });
      for (const kind of ['s3-outage', 'webhook-outage'] as const) {
        const outages = plan.flatMap((e) => (e.kind === kind ? [e] : []));
        expect(outages.map((e) => e.durationMs).sort((a, b) => a - b)).toEqual(
          kind === 's3-outage' ? [10_000, 60_000, 300_000] : [600_000],
        );
        for (let i = 0; i < outages.length; i++) {
          const e = outages[i] as (typeof outages)[number];
          expect(e.atMs).toBeGreaterThanOrEqual(84_000);
          expect(e.atMs + e.durationMs).toBeLessThanOrEqual(756_000);
          if (i > 0) {
            const prev = outages[i - 1] as (typeof outages)[number];
            expect(e.atMs).toBeGreaterThanOrEqual(prev.atMs + prev.durationMs);
          }
        }
      }
    }
    // A 60 s outage in a 75 s run (fault window 60 s) fits only at its very start; 61 s does not fit.
    expect(() => planChaos({ ...opts, s3OutagesMs: [61_000] })).toThrow(
      /do not fit the fault window of 60000 ms/,
    );
    expect(() => planChaos({ ...opts, webhookOutagesMs: [0] })).toThrow(/must be > 0/);
  });
});
