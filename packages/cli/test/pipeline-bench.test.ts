// The pipeline benchmark's pure parts: its statistics and the naive worker's plan of one job.
import { JobMessageV1 } from '@edgefleet/contracts';
import { describe, expect, it } from 'vitest';
import { naiveLayout, naiveSteps } from '../bench/naive-worker.js';
import {
  baselineRows,
  latencyMs,
  overheadMs,
  pairedDifference,
  pairedText,
  percentile,
  ratio,
  ratioRow,
  summarize,
  summaryRow,
} from '../bench/pipeline-stats.js';
import { prng } from '../src/chaos/plan.js';

describe('percentile (nearest rank)', () => {
  it('picks sorted[ceil(p/100 · n) − 1]', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 99)).toBe(5);
    expect(percentile(xs, 20)).toBe(1);
    expect(percentile(xs, 21)).toBe(2);
  });

  it('is the maximum for p99 of fewer than 100 samples, NaN for none', () => {
    expect(percentile([...Array(60).keys()], 99)).toBe(59);
    expect(
      percentile(
        Array.from({ length: 200 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(198);
    expect(percentile([], 50)).toBeNaN();
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('summaries', () => {
  const job = (i: number, receivedAt: number, notifiedAt: number, runMs: number, sentAt = 0) => ({
    jobId: `j${i}`,
    sentAt,
    receivedAt,
    notifiedAt,
    runMs,
  });

  it('overhead is receive-to-notification minus the user code; latency runs from the send', () => {
    expect(overheadMs(job(0, 1000, 1500, 200, 900))).toBe(300);
    expect(latencyMs(job(0, 1000, 1500, 200, 900))).toBe(600);
  });

  it('throughput runs from the first send to the last notification', () => {
    const s = summarize({
      flow: 'f',
      jobs: [job(0, 10, 1000, 100, 5), job(1, 20, 2000, 100, 0), job(2, 30, 4000, 100, 7)],
    });
    expect(s.jobs).toBe(3);
    expect(s.jobsPerSecond).toBeCloseTo(0.75);
    expect(s.overheadP50).toBe(1880);
    expect(s.overheadP99).toBe(3870);
    expect(summaryRow(s)).toEqual(['f', 3, '0.75', '1880', '3870', '2000', '100']);
  });

  it('ratios say how many times better edgefleet is', () => {
    expect(ratio(20, 1)).toBe('20×');
    expect(ratio(3, 2)).toBe('1.5×');
    expect(ratio(1, 0)).toBe('–');
    const flow = (jobsPerSecond: number, overhead: number) => ({
      flow: 'x',
      jobs: 1,
      jobsPerSecond,
      overheadP50: overhead,
      overheadP99: overhead * 2,
      latencyP50: overhead,
      runP50: 0,
    });
    const row = ratioRow('ratio', flow(3, 250), flow(0.15, 6000));
    expect(row).toEqual(['ratio', '', '20×', '24×', '24×', '24×', '']);
    expect(ratioRow('burst', flow(3, 250), flow(0.15, 6000), true)).toEqual([
      'burst',
      '',
      '20×',
      '–',
      '–',
      '–',
      '',
    ]);
  });

  it('the baseline comparison divides the overhead percentiles of this code by those of the baseline, two decimals', () => {
    const flow = (name: string, p50: number, p99: number) => ({
      flow: name,
      jobs: 100,
      jobsPerSecond: 1,
      overheadP50: p50,
      overheadP99: p99,
      latencyP50: p50,
      runP50: 0.25,
    });
    expect(baselineRows(flow('this code', 121.4, 150), flow('baseline abc', 117, 160))).toEqual([
      ['this code', 100, '121', '150', '0.3'],
      ['baseline abc', 100, '117', '160', '0.3'],
      ['this ÷ baseline', '', '1.04×', '0.94×', ''],
    ]);
    expect(baselineRows(flow('a', 1, 1), flow('b', 0, 0))[2]).toEqual(['this ÷ baseline', '', '–', '–', '']);
  });
});

describe('the naive worker', () => {
  const message = JobMessageV1.parse({
    version: 1,
    kind: 'job',
    jobId: 'j1',
    code: { entrypoint: 'main.py', requirements: 'requirements.txt', args: ['--x'] },
    inputs: [{ uri: 's3://jobs/j1/main.py' }, { uri: 's3://jobs/j1/requirements.txt' }],
    output: { uri: 's3://results/out/' },
    notify: { webhook: 'http://127.0.0.1:9/hook' },
  });

  it('downloads, makes a fresh venv, installs, runs, uploads and notifies, in that order', () => {
    const at = naiveLayout('/w/j1');
    const steps = naiveSteps(message, { jobDir: '/w/j1', python: '/usr/bin/python3' });
    expect(steps.map((s) => (s.kind === 'exec' ? s.what : s.kind))).toEqual([
      'download',
      'download',
      'venv',
      'install',
      'run',
      'upload',
      'notify',
    ]);
    expect(steps[0]).toEqual({
      kind: 'download',
      bucket: 'jobs',
      key: 'j1/main.py',
      target: `${at.work}/main.py`,
    });
    expect(steps[2]).toMatchObject({ argv: ['/usr/bin/python3', '-m', 'venv', at.venv] });
    expect(steps[3]).toMatchObject({
      argv: expect.arrayContaining([`${at.venv}/bin/pip`, 'install', '--no-index', '-r', 'requirements.txt']),
      cwd: at.work,
    });
    expect(steps[4]).toMatchObject({ argv: [`${at.venv}/bin/python`, 'main.py', '--x'], cwd: at.work });
    expect(steps[5]).toEqual({
      kind: 'upload',
      from: at.output,
      bucket: 'results',
      prefix: 'out/j1/output/',
    });
  });

  it('skips the install without requirements and the notification without a webhook', () => {
    const bare = JobMessageV1.parse({ ...message, code: { entrypoint: 'main.py' }, notify: {} });
    const kinds = naiveSteps(bare, { jobDir: '/w/j1', python: 'python3' }).map((s) =>
      s.kind === 'exec' ? s.what : s.kind,
    );
    expect(kinds).toEqual(['download', 'download', 'venv', 'run', 'upload']);
  });

  it('refuses prefix inputs', () => {
    const prefix = JobMessageV1.parse({ ...message, inputs: [{ uri: 's3://jobs/j1/' }] });
    expect(() => naiveSteps(prefix, { jobDir: '/w/j1', python: 'python3' })).toThrow(/objects only/);
  });
});

describe('pairedDifference (interleaved rounds)', () => {
  /** A job whose overhead is `ms` (received at 0, no user code). */
  const job = (ms: number) => ({ jobId: 'j', sentAt: 0, receivedAt: 0, notifiedAt: ms, runMs: 0 });

  it('is the median of the per-round differences, not the difference of the medians', () => {
    // Load drifts over the run (every round slower than the one before), and a is 2 ms slower than b
    // in each round: the medians of each side differ by 2 whatever the drift does.
    const b = Array.from({ length: 51 }, (_, i) => job(100 + i * 3));
    const a = b.map((t) => job(t.notifiedAt + 2));
    const d = pairedDifference(a, b, prng(1), 500);
    expect(d).toEqual({ rounds: 51, median: 2, low: 2, high: 2 });
  });

  it('brackets the median with a 95 % bootstrap interval that narrows with more rounds', () => {
    const noisy = (n: number, seed: number) => {
      const r = prng(seed);
      return Array.from({ length: n }, () => job(100 + Math.round((r() - 0.5) * 40)));
    };
    const few = pairedDifference(noisy(30, 2), noisy(30, 3), prng(4), 1000);
    const many = pairedDifference(noisy(600, 5), noisy(600, 6), prng(7), 1000);
    for (const d of [few, many]) {
      expect(d.low).toBeLessThanOrEqual(d.median);
      expect(d.high).toBeGreaterThanOrEqual(d.median);
    }
    // Both sides from the same distribution: the interval holds 0, and is narrower with 20× the rounds.
    expect(many.low).toBeLessThanOrEqual(0);
    expect(many.high).toBeGreaterThanOrEqual(0);
    expect(many.high - many.low).toBeLessThan((few.high - few.low) / 2);
  });

  it('pairs only complete rounds; nothing to pair gives NaN', () => {
    expect(pairedDifference([job(5), job(6)], [job(1)], prng(1), 10).rounds).toBe(1);
    expect(pairedDifference([], [], prng(1), 10).median).toBeNaN();
  });

  it('reads as a signed median with its interval', () => {
    expect(pairedText({ rounds: 150, median: 3, low: -1, high: 6.5 })).toBe(
      '+3 ms (95 % bootstrap interval −1 to +6.5 ms, 150 rounds)',
    );
  });

  it('is reproducible from the same seed', () => {
    const a = [job(10), job(30), job(20), job(50)];
    const b = [job(12), job(25), job(21), job(40)];
    expect(pairedDifference(a, b, prng(9), 300)).toEqual(pairedDifference(a, b, prng(9), 300));
  });
});
