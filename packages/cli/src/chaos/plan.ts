// The chaos driver's decisions, free of I/O: a seeded PRNG, the schedule of submissions and faults,
// the verdict over what was observed at the end, and the summary table. The same seed gives the same
// schedule, so a failing run can be replayed.

const CHAOS_SERVICES = ['job-receiver', 'job-executor', 'result-uploader', 'gossip-membership'] as const;
export type ChaosService = (typeof CHAOS_SERVICES)[number];

/** mulberry32: a small, fast, seeded PRNG returning numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ChaosEvent =
  | { atMs: number; kind: 'submit'; index: number }
  | { atMs: number; kind: 'kill-service'; service: ChaosService }
  /** SIGTERM: redis-server shuts down cleanly; local mode starts it again. */
  | { atMs: number; kind: 'restart-redis' }
  /** SIGKILL: a power cut; the AOF (appendfsync always) keeps every acknowledged write. */
  | { atMs: number; kind: 'kill-redis' }
  | { atMs: number; kind: 's3-outage'; durationMs: number }
  | { atMs: number; kind: 'webhook-outage'; durationMs: number };

export interface ChaosPlanOptions {
  seed: number;
  jobs: number;
  /** Submissions and faults are spread over [0, durationMs). */
  durationMs: number;
  serviceKills: number;
  redisRestarts: number;
  redisKills: number;
  /** Length of each S3 outage, in ms (S3 answers 503; SQS keeps working). */
  s3OutagesMs: number[];
  /** Length of each webhook outage, in ms (the webhook answers 503). */
  webhookOutagesMs: number[];
}

/** Minimum spacing between two Redis events, so each outage is over before the next begins. */
const REDIS_GAP_MS = 8_000;

/** The whole schedule, sorted by time. Faults start after the first tenth of the run (work is flowing). */
export function planChaos(o: ChaosPlanOptions): ChaosEvent[] {
  const rnd = prng(o.seed);
  const between = (lo: number, hi: number) => Math.floor(lo + rnd() * (hi - lo));
  const faultFrom = Math.floor(o.durationMs * 0.1);
  const faultTo = Math.floor(o.durationMs * 0.9);
  const events: ChaosEvent[] = [];
  for (let i = 0; i < o.jobs; i++)
    events.push({ atMs: Math.floor((i * o.durationMs) / Math.max(1, o.jobs)), kind: 'submit', index: i });
  for (let i = 0; i < o.serviceKills; i++) {
    const service = CHAOS_SERVICES[Math.floor(rnd() * CHAOS_SERVICES.length)] as ChaosService;
    events.push({ atMs: between(faultFrom, faultTo), kind: 'kill-service', service });
  }
  // Redis events: spread in equal slots (in a random order) so that they never overlap.
  const redisKinds: ('restart-redis' | 'kill-redis')[] = [
    ...Array.from({ length: o.redisRestarts }, () => 'restart-redis' as const),
    ...Array.from({ length: o.redisKills }, () => 'kill-redis' as const),
  ];
  for (let i = redisKinds.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [redisKinds[i], redisKinds[j]] = [redisKinds[j] as 'restart-redis', redisKinds[i] as 'restart-redis'];
  }
  const slot = (faultTo - faultFrom) / Math.max(1, redisKinds.length);
  redisKinds.forEach((kind, i) => {
    const lo = faultFrom + i * slot;
    const hi = Math.max(lo + 1, lo + slot - REDIS_GAP_MS);
    events.push({ atMs: between(lo, hi), kind });
  });
  for (const [atMs, durationMs] of layOutages(o.s3OutagesMs, faultFrom, faultTo, rnd, 's3'))
    events.push({ atMs, kind: 's3-outage', durationMs });
  for (const [atMs, durationMs] of layOutages(o.webhookOutagesMs, faultFrom, faultTo, rnd, 'webhook'))
    events.push({ atMs, kind: 'webhook-outage', durationMs });
  return events.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Outages of one kind, one after the other in a random order, each starting and ending inside
 * [from, to): the free time (window minus the outages' sum) is cut at random points into the gaps
 * before, between and after them, so no outage hides inside another and each is felt at its length.
 * Returns [start, duration] pairs; throws when the outages do not fit the window.
 */
function layOutages(
  durations: number[],
  from: number,
  to: number,
  rnd: () => number,
  what: string,
): [number, number][] {
  if (durations.length === 0) return [];
  for (const d of durations)
    if (!(Number.isFinite(d) && d > 0)) throw new Error(`${what} outage of ${d} ms: must be > 0`);
  const free = to - from - durations.reduce((a, b) => a + b, 0);
  if (free < 0)
    throw new Error(
      `${what} outages of ${durations.join(' + ')} ms do not fit the fault window of ${to - from} ms (the middle 80 % of the run): lengthen the run`,
    );
  const order = [...durations];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  // n + 1 gaps: n + 1 random weights normalised to the free time.
  const weights = Array.from({ length: order.length + 1 }, () => rnd() + 0.05);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: [number, number][] = [];
  let at = from;
  order.forEach((d, i) => {
    at += Math.floor((free * (weights[i] as number)) / total);
    out.push([at, d]);
    at += d;
  });
  return out;
}

/** What the driver saw of one job at the end. */
export interface JobObservation {
  jobId: string;
  /** The record's state, or undefined when there is no record. */
  state: string | undefined;
  /** The record's reason code (why a job did not succeed). */
  reason?: string | undefined;
  /** Terminal states in the record's history (exactly one expected). */
  terminalEntries: number;
  /** For SUCCEEDED jobs: whether the outputs and manifest are in S3. */
  resultsComplete: boolean;
  /** Idempotency-Key of every notification the webhook server received (accepted with 2xx). */
  notificationKeys: string[];
}

export interface ChaosVerdict {
  jobs: number;
  /** Jobs per terminal state (with the reason for those that did not succeed). */
  byState: Record<string, number>;
  /** Jobs without a terminal state, or SUCCEEDED without its results, or never notified. */
  lost: string[];
  /** Jobs with more than one terminal history entry. */
  doubleTerminal: string[];
  /** Jobs notified more than once (all with the same Idempotency-Key: an at-least-once redelivery). */
  duplicated: string[];
  /** Jobs notified more than once with different keys. */
  unexplainedDuplicates: string[];
}

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED', 'REJECTED']);

export function judge(observations: JobObservation[]): ChaosVerdict {
  const v: ChaosVerdict = {
    jobs: observations.length,
    byState: {},
    lost: [],
    doubleTerminal: [],
    duplicated: [],
    unexplainedDuplicates: [],
  };
  for (const o of observations) {
    const state = o.state ?? 'NO RECORD';
    const key = o.reason && o.state !== 'SUCCEEDED' ? `${state} (${o.reason})` : state;
    v.byState[key] = (v.byState[key] ?? 0) + 1;
    const terminal = o.state !== undefined && TERMINAL.has(o.state);
    if (!terminal || o.notificationKeys.length === 0 || (o.state === 'SUCCEEDED' && !o.resultsComplete))
      v.lost.push(o.jobId);
    if (o.terminalEntries > 1) v.doubleTerminal.push(o.jobId);
    if (o.notificationKeys.length > 1) {
      if (new Set(o.notificationKeys).size === 1) v.duplicated.push(o.jobId);
      else v.unexplainedDuplicates.push(o.jobId);
    }
  }
  return v;
}

export interface ChaosSummary {
  seed: number;
  verdict: ChaosVerdict;
  kills: Record<string, number>;
  redisRestarts: number;
  redisKills: number;
  /** Length of each S3 / webhook outage carried out, in ms. */
  s3Outages: number[];
  webhookOutages: number[];
  /** S3 requests answered 503 by the fault proxy, webhook calls answered 503. */
  s3Faulted: number;
  webhookFaulted: number;
  pendingJobs: number;
  pendingResults: number;
  /** Job folders still on disk (<dataDir>/jobs/*) once the node went quiet. */
  foldersLeft: number;
  wallMs: number;
}

/** "10 s, 60 s, 5 min" */
function lengths(ms: number[]): string {
  if (ms.length === 0) return '0';
  return ms
    .map((m) => (m >= 120_000 && m % 60_000 === 0 ? `${m / 60_000} min` : `${Math.round(m / 1000)} s`))
    .join(', ');
}

/** The run as (what, value) rows. */
export function summaryRows(s: ChaosSummary): [string, string][] {
  const v = s.verdict;
  return [
    ['seed', String(s.seed)],
    ['jobs submitted', String(v.jobs)],
    [
      'terminal states',
      Object.entries(v.byState)
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', '),
    ],
    ...Object.entries(s.kills)
      .sort()
      .map(([k, n]): [string, string] => [`kill -9 ${k}`, String(n)]),
    ['redis restarts (SIGTERM)', String(s.redisRestarts)],
    ['redis kill -9', String(s.redisKills)],
    ['S3 outages (503s served)', `${lengths(s.s3Outages)} (${s.s3Faulted})`],
    ['webhook outages (503s served)', `${lengths(s.webhookOutages)} (${s.webhookFaulted})`],
    ['pending in jobs / results groups', `${s.pendingJobs} / ${s.pendingResults}`],
    ['job folders left on disk', String(s.foldersLeft)],
    ['lost', String(v.lost.length)],
    ['two terminal states', String(v.doubleTerminal.length)],
    ['duplicated notifications (same Idempotency-Key)', String(v.duplicated.length)],
    ['unexplained duplicates', String(v.unexplainedDuplicates.length)],
    ['wall time', `${(s.wallMs / 1000).toFixed(1)} s`],
  ];
}

/** A Markdown table of the run. */
export function formatSummary(s: ChaosSummary): string {
  const rows = summaryRows(s);
  const w = Math.max(...rows.map(([k]) => k.length));
  const vw = Math.max(5, ...rows.map(([, val]) => val.length));
  return [
    `| ${'what'.padEnd(w)} | ${'value'.padEnd(vw)} |`,
    `| ${'-'.repeat(w)} | ${'-'.repeat(vw)} |`,
    ...rows.map(([k, val]) => `| ${k.padEnd(w)} | ${val.padEnd(vw)} |`),
  ].join('\n');
}
