// The pipeline benchmark's arithmetic (pure): per-job overhead from the moments the driver observed,
// percentiles, throughput, and the table rows with the edgefleet/naive ratios.
import { type BenchCell, fmt } from '@edgefleet/testkit';

/** What the driver observed about one job, every time in ms since the epoch (one machine, one clock). */
export interface JobTiming {
  jobId: string;
  /** When the driver sent the job's SQS message. */
  sentAt: number;
  /** When the flow had the SQS message in hand (see pipeline.ts for each flow's exact point). */
  receivedAt: number;
  /** When the terminal notification's body had fully arrived at the driver's webhook receiver. */
  notifiedAt: number;
  /** Wall time of the user's code (`python main.py`, spawn to exit), in ms. */
  runMs: number;
}

/** Overhead of one job in ms: (notifiedAt − receivedAt) − runMs, i.e. everything but the user's code. */
export const overheadMs = (t: JobTiming): number => t.notifiedAt - t.receivedAt - t.runMs;

/** Send-to-notification time of one job in ms (what the sender waits): time in SQS and the user's code included. */
export const latencyMs = (t: JobTiming): number => t.notifiedAt - t.sentAt;

/**
 * The p-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest sample such that at least
 * p % of the samples are ≤ it, i.e. sorted[ceil(p/100 · n) − 1]. With fewer than 100 samples p99 is
 * the maximum. NaN for no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface FlowResult {
  /** Row label, e.g. `edgefleet, sequential`. */
  flow: string;
  jobs: JobTiming[];
}

export interface FlowSummary {
  flow: string;
  jobs: number;
  /** jobs / (last notification − first send), in jobs per second. */
  jobsPerSecond: number;
  overheadP50: number;
  overheadP99: number;
  latencyP50: number;
  runP50: number;
}

export function summarize(r: FlowResult): FlowSummary {
  const firstSent = Math.min(...r.jobs.map((j) => j.sentAt));
  const lastNotified = Math.max(...r.jobs.map((j) => j.notifiedAt));
  const spanS = (lastNotified - firstSent) / 1000;
  const overheads = r.jobs.map(overheadMs);
  return {
    flow: r.flow,
    jobs: r.jobs.length,
    jobsPerSecond: r.jobs.length && spanS > 0 ? r.jobs.length / spanS : Number.NaN,
    overheadP50: percentile(overheads, 50),
    overheadP99: percentile(overheads, 99),
    latencyP50: percentile(r.jobs.map(latencyMs), 50),
    runP50: percentile(
      r.jobs.map((j) => j.runMs),
      50,
    ),
  };
}

export const PIPELINE_HEADER = [
  'flow',
  'jobs',
  'jobs/s',
  'overhead p50 ms',
  'overhead p99 ms',
  'send→notification p50 ms',
  'user code p50 ms',
];

export function summaryRow(s: FlowSummary): BenchCell[] {
  return [
    s.flow,
    s.jobs,
    fmt(s.jobsPerSecond, 2),
    fmt(Math.round(s.overheadP50)),
    fmt(Math.round(s.overheadP99)),
    fmt(Math.round(s.latencyP50)),
    fmt(s.runP50, 1),
  ];
}

/** `a / b` as `12.3×`, `–` when undefined. */
export const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) && b !== 0 ? `${fmt(a / b, a / b >= 10 ? 0 : 1)}×` : '–';

/**
 * A ratio row: how many times better edgefleet is than the naive flow in the same mode, > 1 when
 * edgefleet is better: jobs/s as edgefleet ÷ naive, times as naive ÷ edgefleet. `throughputOnly` leaves
 * the time columns empty (for bursts of different sizes, whose per-job times are not comparable).
 */
export function ratioRow(
  label: string,
  edgefleet: FlowSummary,
  naive: FlowSummary,
  throughputOnly = false,
): BenchCell[] {
  const times = (a: number, b: number) => (throughputOnly ? '–' : ratio(a, b));
  return [
    label,
    '',
    ratio(edgefleet.jobsPerSecond, naive.jobsPerSecond),
    times(naive.overheadP50, edgefleet.overheadP50),
    times(naive.overheadP99, edgefleet.overheadP99),
    times(naive.latencyP50, edgefleet.latencyP50),
    '',
  ];
}

export const BASELINE_HEADER = ['code', 'jobs', 'overhead p50 ms', 'overhead p99 ms', 'user code p50 ms'];

/**
 * The same-run comparison with an earlier commit: one row per code, then `this ÷ baseline` for the
 * overhead percentiles (< 1 when this code is faster), two decimals since the bound is 1.10.
 */
export function baselineRows(
  current: FlowSummary,
  baseline: FlowSummary,
  ratioLabel = 'this ÷ baseline',
): BenchCell[][] {
  const row = (s: FlowSummary): BenchCell[] => [
    s.flow,
    s.jobs,
    fmt(Math.round(s.overheadP50)),
    fmt(Math.round(s.overheadP99)),
    fmt(s.runP50, 1),
  ];
  const r = (a: number, b: number) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
  return [
    row(current),
    row(baseline),
    [
      ratioLabel,
      '',
      r(current.overheadP50, baseline.overheadP50),
      r(current.overheadP99, baseline.overheadP99),
      '',
    ],
  ];
}

export interface PairedDifference {
  /** Rounds paired (the shorter list's length). */
  rounds: number;
  /** Median over the rounds of (a's overhead − b's overhead) in round i, ms. */
  median: number;
  /** 95 % percentile-bootstrap interval of that median, ms. */
  low: number;
  high: number;
}

/**
 * The interleaved comparisons' paired statistic: job i of `a` and job i of `b` ran back to back in
 * round i, under the same load, so the per-round difference of their overheads cancels the load's drift
 * over the run, which the ratio of the two p50s does not. The interval: `resamples` bootstrap samples
 * (rounds drawn with replacement with `random`, a seeded source for a report that can be reproduced
 * from its data), the 2.5th and 97.5th percentiles of their medians.
 */
export function pairedDifference(
  a: readonly JobTiming[],
  b: readonly JobTiming[],
  random: () => number,
  resamples = 2000,
): PairedDifference {
  const n = Math.min(a.length, b.length);
  const diffs = Array.from(
    { length: n },
    (_, i) => overheadMs(a[i] as JobTiming) - overheadMs(b[i] as JobTiming),
  );
  if (n === 0) return { rounds: 0, median: Number.NaN, low: Number.NaN, high: Number.NaN };
  const medians: number[] = [];
  const draw = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) draw[i] = diffs[Math.floor(random() * n)] as number;
    medians.push(percentile(draw, 50));
  }
  return {
    rounds: n,
    median: percentile(diffs, 50),
    low: percentile(medians, 2.5),
    high: percentile(medians, 97.5),
  };
}

/** `+3 ms (95 % bootstrap interval −1 to +6 ms, 150 rounds)`. */
export function pairedText(d: PairedDifference): string {
  const ms = (x: number) =>
    `${x > 0 ? '+' : x < 0 ? '−' : ''}${fmt(Math.abs(x), Number.isInteger(x) ? 0 : 1)}`;
  return `${ms(d.median)} ms (95 % bootstrap interval ${ms(d.low)} to ${ms(d.high)} ms, ${d.rounds} rounds)`;
}
