// Benchmarks of the executor, printed as a table:
//  1. Job overhead: `jobs` entry → `results` entry for a trivial job (one requirement, a local wheel),
//     minus the user code's own run time (measured inside the script), with the environment cache warm,
//     next to the naive flow (fresh `python -m venv` + `pip install -r` for every job).
//  2. Download throughput and peak RSS for one large object (default 256 MiB: BENCH_DOWNLOAD_MIB), our
//     downloader (pipeline + sha256 meter + O_EXCL temp file + rename) versus a plain GetObject piped
//     to a file; each download runs in a process of its own so its peak RSS is its own.
// Run: pnpm --filter @edgefleet/job-executor bench   (as root: jobs run as the user BENCH_USER)
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { decodeEntry, encodeEntry, JobMessageV1, type JobsEntry, ResultsEntry } from '@edgefleet/contracts';
import { createLogger, transitionJob } from '@edgefleet/service-kit';
import { buildWheel, emitBenchSection, startEmulator, startRedisServer } from '@edgefleet/testkit';
import { type Config, loadConfig } from '../src/config.js';
import type { EnvironmentManager } from '../src/core/env/types.js';
import { createExecutor } from '../src/executor-service.js';
import { naiveEnvironmentManager } from './naive-environment.js';

const run = promisify(execFile);
const JOBS = Number(process.env.BENCH_JOBS ?? 5);
const DOWNLOAD_MIB = Number(process.env.BENCH_DOWNLOAD_MIB ?? 256);
const USER = process.env.BENCH_USER ?? 'edgefleet-job';
const BUCKET = 'bench';

if (process.getuid?.() === 0) {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  }
}

const redisServer = await startRedisServer();
const emulator = await startEmulator();
emulator.createBucket(BUCKET);
const s3 = emulator.s3();
const redis = redisServer.client();
const dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-bench-'));
chmodSync(dataDir, 0o755);
const put = (Key: string, Body: string | Buffer) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));

const wheel = await buildWheel(
  { name: 'bench-dep', version: '1.0', modules: { 'bench_dep/__init__.py': 'X = 1\n' } },
  dataDir,
);
const wheelName = wheel.split('/').pop()!;
await put(`job/${wheelName}`, await readFile(wheel));
await put('job/requirements.txt', 'bench-dep==1.0\n');
await put(
  'job/main.py',
  'import time\nt0 = time.perf_counter()\nimport bench_dep\nprint(f"user_ms={(time.perf_counter() - t0) * 1000:.3f}")\n',
);

const config: Config = {
  ...loadConfig({}),
  port: 0,
  nodeName: 'bench',
  instanceId: 'bench',
  dataDir,
  jobUser: USER,
  maxAttempts: 2,
  allowedBuckets: [BUCKET],
  maxInputBytes: 4 * 1024 ** 3,
  maxInputFiles: 1000,
  minFreeDiskBytes: 0,
  downloadConcurrency: 4,
  downloadOutageSeconds: 1800,
  defaultOutputMiB: 10240,
  diskCheckMs: 1000,
  pythonBin: '/usr/bin/python3',
  defaultTimeoutSeconds: 120,
  defaultInstallTimeoutSeconds: 300,
  defaultMemoryMiB: 0,
  killGraceMs: 1000,
  memoryLimitMode: 'cgroup',
  maxProcesses: 256,
  maxLogBytes: 1024 * 1024,
  logTailMaxEntries: 1000,
  jobEnvPassthrough: [],
  concurrency: 1,
  envCacheMaxBytes: 4 * 1024 ** 3,
  envMinFreeBytes: 0,
  envSeedPip: false,
  envBuildAsJobUser: false,
  pipNoIndex: true,
};
const logger = createLogger({ service: 'bench', level: 'warn', pretty: false });
let summary = { cgroups: '', jobUser: '' };

/** `environments`: absent, the service's own environment cache; else the manager benchmarked instead. */
async function measure(
  label: string,
  environments: EnvironmentManager | undefined,
  jobs: number,
  warmup: number,
) {
  const executor = await createExecutor(
    { ...config, redisPrefix: `bench${label.replace(/\W/g, '')}` },
    {
      logger,
      redis,
      s3,
      serviceEnv: {},
      consumerBlockMs: 100,
      ...(environments ? { environments } : {}),
    },
  );
  const { names } = executor;
  summary = { cgroups: executor.cgroups.summary, jobUser: executor.jobUser.name };
  await executor.start();
  const reader = redis.duplicate();
  let lastId = '0-0';
  const overheads: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < warmup + jobs; i++) {
    const jobId = `${label.replace(/\W/g, '')}-${i}`;
    const message = JobMessageV1.parse({
      version: 1,
      kind: 'job',
      jobId,
      code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
      inputs: [
        { uri: `s3://${BUCKET}/job/main.py` },
        { uri: `s3://${BUCKET}/job/requirements.txt` },
        { uri: `s3://${BUCKET}/job/${wheelName}` },
      ],
      output: { uri: `s3://${BUCKET}/out/` },
    });
    const jobsEntry: JobsEntry = { jobId, message, receivedAt: Date.now(), source: 'http' };
    const t0 = performance.now();
    await transitionJob(redis, names, {
      jobId,
      to: 'QUEUED',
      from: ['NEW'],
      by: 'bench',
      now: Date.now(),
      xadd: [
        {
          stream: names.jobsStream,
          fields: encodeEntry(jobsEntry),
        },
      ],
    });
    let result: ResultsEntry | undefined;
    const deadline = Date.now() + 120_000;
    while (!result) {
      if (Date.now() > deadline) throw new Error(`${jobId}: no result within 120 s`);
      const reply = (await reader.xread('BLOCK', 30_000, 'STREAMS', names.resultsStream, lastId)) as
        | [string, [string, string[]][]][]
        | null;
      for (const [, entries] of reply ?? [])
        for (const [id, fields] of entries) {
          lastId = id;
          const d = decodeEntry(ResultsEntry, fields);
          if (d.ok && d.value.jobId === jobId && d.value.event === 'terminal') result = d.value;
        }
    }
    const total = performance.now() - t0;
    if (result.state !== 'SUCCEEDED')
      throw new Error(`${jobId}: ${result.state} ${result.reason} ${result.detail}`);
    const out = await readFile(join(result.jobDir!, 'logs', 'stdout.log'), 'utf8');
    const userMs = Number(/user_ms=([\d.]+)/.exec(out)?.[1] ?? 0);
    if (i >= warmup) {
      totals.push(total);
      overheads.push(total - userMs);
    }
  }
  await executor.stop(10_000);
  process.stderr.write(`measured ${label}\n`);
  reader.disconnect();
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
  return {
    label,
    jobs,
    medianTotal: med(totals),
    medianOverhead: med(overheads),
    min: Math.min(...overheads),
  };
}

const cached = await measure('cache (warm)', undefined, JOBS, 1);
process.stderr.write('cache measured\n');
const naive = await measure(
  'naive venv+pip',
  naiveEnvironmentManager({ python: '/usr/bin/python3', root: join(dataDir, 'naive') }),
  Math.max(2, Math.floor(JOBS / 2)),
  0,
);

// --- downloads -----------------------------------------------------------------------------------
const size = DOWNLOAD_MIB * 1024 * 1024;
{
  // Multipart (fauxqs refuses large single PUTs), 8 MiB parts.
  const chunk = Buffer.alloc(8 * 1024 * 1024, 7);
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/data.bin' }),
  );
  const parts: { ETag: string; PartNumber: number }[] = [];
  for (let n = 1; n <= DOWNLOAD_MIB / 8; n++) {
    const r = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'big/data.bin', UploadId, PartNumber: n, Body: chunk }),
    );
    parts.push({ ETag: r.ETag ?? '', PartNumber: n });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'big/data.bin',
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}
const worker = fileURLToPath(new URL('./download-worker.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
async function download(mode: 'edgefleet' | 'plain') {
  const out = mkdtempSync(join(dataDir, `dl-${mode}-`));
  const { stdout } = await run(tsx, [worker, mode, BUCKET, 'big/data.bin', String(size), out], {
    env: { ...process.env, ...emulator.env() },
    maxBuffer: 1 << 20,
  });
  rmSync(out, { recursive: true, force: true });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number; maxRssKiB: number };
  return { mode, ms: r.ms, mibPerS: DOWNLOAD_MIB / (r.ms / 1000), rssMiB: r.maxRssKiB / 1024 };
}
const dls = [
  await download('plain'),
  await download('edgefleet'),
  await download('plain'),
  await download('edgefleet'),
];

const f = (n: number, d = 0) => n.toFixed(d);
const sized = JOBS !== 5 || DOWNLOAD_MIB !== 256;
emitBenchSection({
  id: 'executor',
  title: 'job-executor: job overhead and downloads',
  command: `${sized ? `BENCH_JOBS=${JOBS} BENCH_DOWNLOAD_MIB=${DOWNLOAD_MIB} ` : ''}pnpm --filter @edgefleet/job-executor bench`,
  intro:
    `The executor's job handling in the benchmark's process (no SQS, no receiver): a trivial job with one ` +
    `wheel requirement (a local wheel from S3), ${JOBS} jobs with the environment cache warm (after one ` +
    `warm-up job), ${naive.jobs} with the naive flow; then one ${DOWNLOAD_MIB} MiB object downloaded from ` +
    'the S3/SQS emulator, twice by each downloader, each download in a process of its own so that its ' +
    `peak RSS is its own. cgroups: ${summary.cgroups}; job user ${summary.jobUser}. ` +
    'Resize with BENCH_JOBS and BENCH_DOWNLOAD_MIB.',
  tables: [
    {
      header: ['flow', 'jobs', 'median total ms', 'median overhead ms', 'min overhead ms'],
      rows: [cached, naive].map((r) => [
        r.label === 'cache (warm)'
          ? 'warm environment cache'
          : 'naive: fresh `python -m venv` + `pip install -r`',
        r.jobs,
        f(r.medianTotal),
        f(r.medianOverhead),
        f(r.min),
      ]),
      note:
        'Total = the `jobs` stream entry until the terminal `results` entry; overhead = total − the user ' +
        "code's own run time (measured inside the script).",
    },
    {
      header: [`downloader, one ${DOWNLOAD_MIB} MiB object`, 'ms', 'MiB/s', 'peak RSS MiB'],
      rows: dls.map((d) => [
        d.mode === 'plain' ? 'plain GetObject → file' : 'edgefleet (sha256, O_EXCL, rename)',
        f(d.ms),
        f(d.mibPerS, 1),
        f(d.rssMiB, 1),
      ]),
      note: "MiB/s = object size / wall time of the download; peak RSS = the download process's maxRSS.",
    },
  ],
});

redis.disconnect();
await redisServer.stop();
await emulator.stop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
