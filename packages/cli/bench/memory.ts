// Memory of a whole node: a local node (`edgefleet local`, the four services and its redis-server) is
// started, left idle, given a burst of trivial jobs through SQS and left idle again; the RSS of every
// process is read from /proc while that happens, next to two baselines started in the same run (a bare
// Node process and a bare fastify server), so the report shows what each service adds.
//   pnpm --filter @edgefleet/cli bench:memory [--jobs 50] [--settle 30] [--samples 10]
//     [--node-options "--max-semi-space-size=1"] [--env MALLOC_ARENA_MAX=2] [--baseline <commit>]
// --settle: seconds of idleness before the idle samples; --samples: idle samples, one a second;
// --node-options: NODE_OPTIONS for the node's processes, --env: more of their environment (to measure
// a V8 flag or an allocator setting before adopting it). --baseline: a four-process node of an earlier
// commit (built by baseline-tree.ts) is measured first in the same run, with the same baselines.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisNames } from '@edgefleet/contracts';
import {
  type BenchTable,
  emitBenchSection,
  eventually,
  fmt,
  freePort,
  startEmulator,
} from '@edgefleet/testkit';
import { Redis } from 'ioredis';
import { TERMINAL } from '../src/chaos/plan.js';
import { submit } from '../src/commands/submit.js';
import { type LocalNodeProcess, startLocalNodeProcess } from '../src/local/node-process.js';
import { BASELINE_JOB_USER, type BaselineTree, prepareBaselineTree } from './baseline-tree.js';
import { median, procMemory, procPss } from './proc-memory.js';
import { ensureSystemUser } from './system-user.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
};
const JOBS = Number(arg('jobs', '50'));
const SETTLE_S = Number(arg('settle', '30'));
const SAMPLES = Number(arg('samples', '10'));
const NODE_OPTIONS = arg('node-options', '');
/** --baseline <commit>: a four-process node of that commit's code measured in the same run. */
const BASELINE = arg('baseline', process.env.EDGEFLEET_BENCH_BASELINE ?? '') || undefined;
/** --env KEY=VALUE (repeatable): more environment for the node, e.g. MALLOC_ARENA_MAX=2. */
const EXTRA_ENV: Record<string, string> = Object.fromEntries(
  argv
    .flatMap((a, i) => (a === '--env' && argv[i + 1]?.includes('=') ? [argv[i + 1] as string] : []))
    .map((kv) => {
      const at = kv.indexOf('=');
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
);
/** Busy sampling period, ms: often enough to catch a peak that lasts one job. */
const BUSY_SAMPLE_MS = 200;
const SERVICES = ['job-receiver', 'job-executor', 'result-uploader', 'gossip-membership'] as const;
const NODE_PROCESSES = [...SERVICES, 'redis-server'] as const;
/** The target for a service at rest, MB (10^6 bytes): a Jetson shares 4–8 GiB between CPU and GPU. */
const TARGET_MB = 80;
const KIB_PER_MIB = 1024;
const TARGET_MIB = (TARGET_MB * 1e6) / 2 ** 20;

const JOB_MAIN = `import os, pathlib
pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"], "ok.txt").write_text(os.environ["EDGEFLEET_JOB_ID"])
`;
const JOBS_BUCKET = 'edgefleet-jobs';
const RESULTS_BUCKET = 'edgefleet-results';
const serviceKitDir = fileURLToPath(new URL('../../service-kit/', import.meta.url));
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The two baselines: what Node itself and fastify cost before any edgefleet code. */
const BASELINES: { name: string; script: string }[] = [
  { name: 'bare Node process', script: 'setInterval(() => {}, 1 << 30);' },
  {
    name: 'bare fastify server',
    script:
      "const app = require('fastify')(); app.get('/healthz', async () => 'ok'); app.listen({ port: 0, host: '127.0.0.1' });",
  },
];

interface Series {
  idleRss: number[];
  idlePss: number[];
  idleAnon: number[];
  idleFile: number[];
  busyRss: number[];
  /** Idle again after the burst: the code a job needs (AWS SDK calls, the environment cache) is loaded. */
  afterRss: number[];
  hwm: number;
}
const newSeries = (): Series => ({
  idleRss: [],
  idlePss: [],
  idleAnon: [],
  idleFile: [],
  busyRss: [],
  afterRss: [],
  hwm: 0,
});
const series = new Map<string, Series>();
const seriesOf = (name: string): Series => {
  const s = series.get(name) ?? newSeries();
  series.set(name, s);
  return s;
};

type Mode = 'four' | 'single' | 'baseline';
/** Series names of the single-process node carry this prefix, the baseline node's BASE. */
const SINGLE = 'single:';
const BASE = 'base:';
const say = (line: string) => process.stdout.write(`${line}\n`);
// Built before anything is measured: the build's CPU must not weigh on any sample.
const baselineTree: BaselineTree | undefined = BASELINE
  ? prepareBaselineTree(join(import.meta.dirname, '../../..'), BASELINE, say)
  : undefined;
if (baselineTree) ensureSystemUser(BASELINE_JOB_USER, say);
/** The single-process node's process (pids.json name), and its series. */
const SINGLE_PROCESS = 'edgefleet-node';
const restarts: string[] = [];
/** Wall time of each node's burst, s, and terminal state → jobs of it. */
const busyWallS: Record<Mode, number> = { four: Number.NaN, single: Number.NaN, baseline: Number.NaN };
const outcome: Record<Mode, Map<string, number>> = {
  four: new Map(),
  single: new Map(),
  baseline: new Map(),
};
const baselines: ChildProcess[] = [];
const emu = await startEmulator();
emu.createBucket(JOBS_BUCKET);
emu.createBucket(RESULTS_BUCKET);
const logFile = join(tmpdir(), `edgefleet-bench-memory-${process.pid}.log`);

/**
 * One node, measured: started in the given mode, idle, a burst, idle again. The baselines run
 * throughout both nodes' runs, so each node is compared with them in the same conditions.
 */
async function measure(mode: Mode): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'edgefleet-bench-memory-'));
  // Job code runs as an unprivileged user that must reach the data folder below this one.
  chmodSync(work, 0o755);
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  let node: LocalNodeProcess | undefined;
  let redis: Redis | undefined;
  const key = (name: string) =>
    mode === 'single' ? `${SINGLE}${name}` : mode === 'baseline' ? `${BASE}${name}` : name;
  try {
    // A queue of its own: the other node must not take its jobs.
    const queueUrl = emu.createQueue(`edgefleet-jobs-${mode}`, { VisibilityTimeout: '60' });
    const startedAt = Date.now();
    // The baseline's own launcher (its dist/local/node-process.js starts its own dist/main.js).
    const start = baselineTree
      ? mode === 'baseline'
        ? (
            (await import(join(baselineTree.dir, 'packages/cli/dist/local/node-process.js'))) as {
              startLocalNodeProcess: typeof startLocalNodeProcess;
            }
          ).startLocalNodeProcess
        : startLocalNodeProcess
      : startLocalNodeProcess;
    node = await start({
      dataDir,
      nodeName: `bench-memory-${mode}`,
      logFile,
      freePort: () => freePort(),
      env: {
        ...emu.env(),
        EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
        EDGEFLEET_QUEUE_URLS: queueUrl,
        EDGEFLEET_ALLOWED_BUCKETS: `${JOBS_BUCKET},${RESULTS_BUCKET}`,
        ...(mode === 'single' ? { EDGEFLEET_LOCAL_SINGLE_PROCESS: 'true' } : {}),
        ...(mode === 'baseline' ? { EDGEFLEET_JOB_USER: BASELINE_JOB_USER } : {}),
        ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
        ...EXTRA_ENV,
      },
    });
    const up = node;
    process.stdout.write(
      `${mode} node up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; idle for ${SETTLE_S} s\n`,
    );

    // The processes to watch: the node's, by name, plus local mode itself and the baselines.
    const pidsNow = (): Map<string, number> => {
      const m = new Map<string, number>();
      const p = up.pids();
      for (const name of mode === 'single' ? [SINGLE_PROCESS, 'redis-server'] : NODE_PROCESSES)
        if (p[name]) m.set(key(name), p[name] as number);
      if (up.child.pid) m.set(key('edgefleet local'), up.child.pid);
      BASELINES.forEach((b, i) => {
        const pid = baselines[i]?.pid;
        if (pid) m.set(b.name, pid);
      });
      return m;
    };
    const firstPids = pidsNow();
    const sample = (phase: 'idle' | 'busy' | 'after') => {
      for (const [name, pid] of pidsNow()) {
        if (firstPids.get(name) !== pid && !restarts.includes(name)) restarts.push(name);
        const mem = procMemory(pid);
        if (!mem) continue;
        const s = seriesOf(name);
        s.hwm = Math.max(s.hwm, mem.hwmKiB);
        if (phase !== 'idle') {
          (phase === 'busy' ? s.busyRss : s.afterRss).push(mem.rssKiB);
          continue;
        }
        s.idleRss.push(mem.rssKiB);
        s.idleAnon.push(mem.anonKiB);
        s.idleFile.push(mem.fileKiB);
        const pss = procPss(pid);
        if (pss !== undefined) s.idlePss.push(pss);
      }
      // This process: the benchmark driver with the S3/SQS emulator in it.
      const self = process.memoryUsage().rss / 1024;
      const s = seriesOf(key('driver + S3/SQS emulator'));
      ({ idle: s.idleRss, busy: s.busyRss, after: s.afterRss })[phase].push(self);
    };

    // Idle: a measurement window after readiness, no jobs.
    await delay(SETTLE_S * 1000);
    for (let i = 0; i < SAMPLES; i++) {
      sample('idle');
      await delay(1000);
    }

    // Busy: one job to make the environment warm (not sampled), then the burst.
    const jobDir = join(work, 'job');
    mkdirSync(jobDir);
    writeFileSync(join(jobDir, 'main.py'), JOB_MAIN);
    const aws = {
      s3: emu.s3(),
      sqs: emu.sqs(),
      queueUrl: async () => queueUrl,
      jobsBucket: JOBS_BUCKET,
      resultsUri: `s3://${RESULTS_BUCKET}/results/`,
      close() {},
    };
    redis = new Redis(up.redisUrl, { maxRetriesPerRequest: 1 });
    const names = redisNames();
    const db = redis;
    const states = async (ids: string[]) =>
      Promise.all(ids.map(async (id) => (await db.hget(names.jobKey(id), 'state')) ?? 'NONE'));
    const allDone = async (ids: string[]) => (await states(ids)).every((s) => TERMINAL.has(s));
    const warmup = `bench-memory-${mode}-warmup`;
    await submit(aws, { target: jobDir, jobId: warmup }, () => {});
    await eventually(() => allDone([warmup]), {
      timeoutMs: 180_000,
      intervalMs: 250,
      what: 'the warm-up job ends',
    });
    process.stdout.write(`warm-up job done; ${JOBS} jobs\n`);

    const ids = Array.from({ length: JOBS }, (_, i) => `bench-memory-${mode}-${String(i).padStart(3, '0')}`);
    const sampler = setInterval(() => sample('busy'), BUSY_SAMPLE_MS);
    const t0 = Date.now();
    try {
      await Promise.all(ids.map((jobId) => submit(aws, { target: jobDir, jobId }, () => {})));
      await eventually(() => allDone(ids), { timeoutMs: 300_000, intervalMs: 250, what: `${JOBS} jobs end` });
    } finally {
      clearInterval(sampler);
    }
    busyWallS[mode] = (Date.now() - t0) / 1000;
    for (const st of await states(ids)) outcome[mode].set(st, (outcome[mode].get(st) ?? 0) + 1);
    sample('busy');

    // Idle after the burst: the same window as before the jobs.
    process.stdout.write(`burst done in ${busyWallS[mode].toFixed(1)} s; idle for ${SETTLE_S} s\n`);
    await delay(SETTLE_S * 1000);
    for (let i = 0; i < SAMPLES; i++) {
      sample('after');
      await delay(1000);
    }
  } finally {
    redis?.disconnect();
    await node?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  for (const b of BASELINES) {
    baselines.push(
      spawn(process.execPath, ['-e', b.script], {
        cwd: serviceKitDir,
        stdio: 'ignore',
        env: { PATH: process.env.PATH ?? '' },
      }),
    );
  }
  if (baselineTree) await measure('baseline');
  await measure('four');
  await measure('single');
} finally {
  for (const b of baselines) b.kill('SIGKILL');
  await emu.stop();
}

// --- the section -------------------------------------------------------------------------------------
const mib = (kib: number) => fmt(kib / KIB_PER_MIB, 1);
const get = (name: string) => series.get(name) ?? newSeries();
const fastifyIdle = median(get('bare fastify server').idleRss);
const vsFastify = (kib: number) => {
  const d = (kib - fastifyIdle) / KIB_PER_MIB;
  return Number.isFinite(d) ? `${d >= 0 ? '+' : ''}${d.toFixed(1)}` : '–';
};
const row = (label: string, s: Series, withBusy = true, nodeProcess = true) => {
  const idle = median(s.idleRss);
  return [
    label,
    mib(idle),
    s.idlePss.length ? mib(median(s.idlePss)) : '–',
    withBusy && s.busyRss.length ? `${mib(median(s.busyRss))} / ${mib(Math.max(...s.busyRss))}` : '–',
    withBusy && s.afterRss.length ? mib(median(s.afterRss)) : '–',
    s.hwm ? mib(s.hwm) : '–',
    nodeProcess ? vsFastify(idle) : '–',
  ];
};
// The whole node: its processes (the four services or the one, and redis-server), summed sample by sample.
const sumAt = (names: readonly string[], pick: (s: Series) => number[]) => {
  const all = names.map((n) => pick(get(n)));
  const n = Math.min(...all.map((a) => a.length));
  return Array.from({ length: n }, (_, i) => all.reduce((acc, a) => acc + (a[i] as number), 0));
};
const wholeOf = (names: readonly string[]): Series => ({
  idleRss: sumAt(names, (s) => s.idleRss),
  idlePss: sumAt(names, (s) => s.idlePss),
  idleAnon: [],
  idleFile: [],
  busyRss: sumAt(names, (s) => s.busyRss),
  afterRss: sumAt(names, (s) => s.afterRss),
  hwm: 0,
});
const whole = wholeOf(NODE_PROCESSES);
const SINGLE_NODE = [`${SINGLE}${SINGLE_PROCESS}`, `${SINGLE}redis-server`];
const wholeSingle = wholeOf(SINGLE_NODE);
/** The target of the single-process node, whole (its services and redis-server) at rest, MiB. */
const SINGLE_TARGET_MIB = 120;
const overTarget = (pick: (s: Series) => number[]) =>
  SERVICES.filter((n) => median(pick(get(n))) / KIB_PER_MIB > TARGET_MIB);
const over = overTarget((s) => s.idleRss);
const overAfter = overTarget((s) => s.afterRss);

const table: BenchTable = {
  header: [
    'process',
    'idle RSS MiB (median)',
    'idle PSS MiB (median)',
    'busy RSS MiB (median / peak)',
    'idle RSS after the burst MiB (median)',
    'peak RSS since start MiB (VmHWM)',
    'idle RSS vs bare fastify MiB',
  ],
  rows: [
    ...SERVICES.map((n) => row(n, get(n))),
    row('redis-server', get('redis-server'), true, false),
    row('**whole node** (4 services + redis-server)', whole, true, false),
    row('single-process node: `edgefleet node` (4 services in 1 process)', get(SINGLE_NODE[0] as string)),
    row('single-process node: redis-server', get(SINGLE_NODE[1] as string), true, false),
    row('**whole single-process node** (1 process + redis-server)', wholeSingle, true, false),
    ...(baselineTree
      ? [
          ...SERVICES.map((n) =>
            row(`${n}, baseline ${baselineTree.commit.slice(0, 12)}`, get(`${BASE}${n}`)),
          ),
          row(
            `**whole node, baseline ${baselineTree.commit.slice(0, 12)}** (4 services + redis-server)`,
            wholeOf([...NODE_PROCESSES].map((n) => `${BASE}${n}`)),
            true,
            false,
          ),
        ]
      : []),
    row(
      `bare Node ${process.versions.node.split('.')[0]} process (baseline)`,
      get('bare Node process'),
      false,
    ),
    row('bare fastify server (baseline)', get('bare fastify server'), false),
    row('`edgefleet local` supervisor (not on a device)', get('edgefleet local')),
    row('benchmark driver + S3/SQS emulator (not on a device)', get('driver + S3/SQS emulator')),
  ],
  note:
    'RSS = VmRSS of /proc/<pid>/status; PSS = Pss of /proc/<pid>/smaps_rollup (a shared page counts ' +
    '1/n in each of the n processes mapping it, so PSS adds up where RSS counts the node binary once per ' +
    'process). Idle: median of the idle samples; busy: median and maximum of samples every ' +
    `${BUSY_SAMPLE_MS} ms during the burst; idle after the burst: the same window again once every job ` +
    'ended (the code a job needs is loaded by then). The whole node sums its processes sample by sample. ' +
    "The executor's row is its own process: job processes (Python) are not counted. " +
    "vs bare fastify = idle RSS − the bare fastify server's idle RSS.",
};
const breakdown: BenchTable = {
  title: 'Idle RSS split: private (RssAnon) and mapped files (RssFile, mostly the node binary)',
  header: ['process', 'RssAnon MiB', 'RssFile MiB'],
  rows: [
    ...SERVICES,
    'redis-server',
    SINGLE_NODE[0] as string,
    'bare Node process',
    'bare fastify server',
  ].map((n) => [n, mib(median(get(n).idleAnon)), mib(median(get(n).idleFile))]),
};

const notes: string[] = [
  `Target: under ${TARGET_MB} MB (${TARGET_MIB.toFixed(1)} MiB) idle RSS per service. ` +
    (over.length
      ? `Above it before any job in this run: ${over.join(', ')}.`
      : 'Every service is under it before any job in this run.') +
    (overAfter.length
      ? ` Above it idle after the burst: ${overAfter.join(', ')}.`
      : ' Every service is under it idle after the burst.'),
  'Local mode and the images start job-receiver, job-executor and result-uploader with ' +
    '`--max-semi-space-size=1 --v8-pool-size=1` and `MALLOC_ARENA_MAX=2` (packages/cli/src/local/services.ts ' +
    'gives the measured effect); gossip-membership with `--max-semi-space-size=1 --v8-pool-size=1 --jitless` ' +
    '(services/gossip-membership/src/node-args.ts) and its own V8 settings (src/v8-flags.ts); the ' +
    'single-process node with `--max-semi-space-size=2 --v8-pool-size=1` (SINGLE_PROCESS_NODE_ARGS).',
  `Single-process node: ${mib(median(wholeSingle.idleRss))} MiB idle for the whole node vs ` +
    `${mib(median(whole.idleRss))} MiB with four processes in this run; target ${SINGLE_TARGET_MIB} MiB ` +
    `(${median(wholeSingle.idleRss) / KIB_PER_MIB <= SINGLE_TARGET_MIB ? 'met' : 'missed'}).`,
  ...(baselineTree
    ? [
        `Four-process node vs baseline ${baselineTree.commit.slice(0, 12)} (that commit's code, measured first in this run): idle RSS ` +
          SERVICES.map((n) => {
            const a = median(get(n).idleRss);
            const b = median(get(`${BASE}${n}`).idleRss);
            return `${n} ${((a / b - 1) * 100).toFixed(1)} %`;
          }).join(', ') +
          '.',
      ]
    : []),
  ...(['four', 'single'] as const).map(
    (m) =>
      `The burst, ${m === 'four' ? 'four-process' : 'single-process'} node: ${JOBS} jobs ended in ${fmt(busyWallS[m])} s (${[...outcome[m]].map(([k, n]) => `${k} ${n}`).join(', ')}).`,
  ),
  ...(restarts.length
    ? [`Restarted during the run (its series mixes two processes): ${restarts.join(', ')}.`]
    : []),
];
emitBenchSection({
  id: 'memory',
  title: 'Memory: idle and busy RSS of each service and of the whole node',
  command: `pnpm --filter @edgefleet/cli bench:memory${JOBS !== 50 ? ` --jobs ${JOBS}` : ''}${baselineTree ? ` --baseline ${baselineTree.commit.slice(0, 12)}` : ''}${NODE_OPTIONS ? ` --node-options "${NODE_OPTIONS}"` : ''}${Object.entries(
    EXTRA_ENV,
  )
    .map(([k, v]) => ` --env ${k}=${v}`)
    .join('')}`,
  intro:
    'Two nodes, one after the other in one run. First a node in local mode (`edgefleet local`: the four ' +
    'services as separate Node processes, each as ' +
    'local mode and the images start it, and its own redis-server with AOF `appendfsync always`), ' +
    `S3/SQS from the emulator in the benchmark's process. Idle: ${SETTLE_S} s after every service ` +
    `answered /healthz, then ${SAMPLES} samples one second apart, no jobs. Busy: after one warm-up job ` +
    `(the environment is then cached), ${JOBS} trivial Python jobs (write one output file) submitted ` +
    'at once through SQS, sampled until every job ended; then the idle window again. ' +
    'Then the same for the single-process node (`edgefleet local --single-process`: `edgefleet node`, ' +
    'the four services in one Node process, with the same flags and its own redis-server). ' +
    'The baselines run alongside: ' +
    '`node -e` idling, and `node -e` with fastify listening on loopback.' +
    (NODE_OPTIONS ? ` NODE_OPTIONS for the node: \`${NODE_OPTIONS}\`.` : '') +
    Object.entries(EXTRA_ENV)
      .map(([k, v]) => ` ${k}=${v} for the node.`)
      .join(''),
  tables: [table, breakdown],
  notes,
});
process.stdout.write(`node log: ${logFile}\n`);
process.exit(0);
