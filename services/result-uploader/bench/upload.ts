// Upload throughput and peak memory: the built service (dist/main.js, end to end: results entry →
// files + manifest in S3 → record SUCCEEDED) versus a plain lib-storage Upload of the same files, in
// the same run, against the same fauxqs. Each runs in its own process so its peak RSS (VmHWM) is its
// own. Prints a table. Run `pnpm build` first.
import { spawn } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeEntry, type ResultsEntry, redisNames } from '@edgefleet/contracts';
import { transitionJob } from '@edgefleet/service-kit';
import {
  emitBenchSection,
  eventually,
  freePort,
  startEmulator,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';

const MiB = 1024 * 1024;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const BUCKET = 'bench';

interface Scenario {
  name: string;
  files: { path: string; size: number }[];
}
const scenarios: Scenario[] = [
  { name: '1 × 256 MiB', files: [{ path: 'output/big.bin', size: 256 * MiB }] },
  {
    name: '4 × 32 MiB',
    files: Array.from({ length: 4 }, (_, i) => ({ path: `output/part-${i}.bin`, size: 32 * MiB })),
  },
  {
    name: '300 × 64 KiB',
    files: Array.from({ length: 300 }, (_, i) => ({ path: `output/d${i % 10}/f${i}.dat`, size: 64 * 1024 })),
  },
];

/** Writes a file of `size` bytes: sparse zeros with a few random bytes so no two files are equal. */
function writeFile(path: string, size: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  if (size < MiB) {
    writeFileSync(path, Buffer.alloc(size, Math.floor(Math.random() * 255)));
    return;
  }
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

const emu = await startEmulator();
emu.createBucket(BUCKET);
const redis = await startRedisServer({ aof: false });
const client = redis.client();
const rows: string[][] = [];

for (const s of scenarios) {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-bench-'));
  const jobId = `bench-${Date.now()}`;
  const jobDir = join(dataDir, 'jobs', jobId);
  for (const f of s.files) writeFile(join(jobDir, f.path), f.size);
  const bytes = s.files.reduce((n, f) => n + f.size, 0);

  // 1. Plain lib-storage Upload, in its own process.
  const plain = await new Promise<{ ms: number; before: number; peak: number }>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        here('./plain-upload.mjs'),
        emu.endpoint,
        BUCKET,
        `plain/${jobId}/`,
        ...s.files.map((f) => join(jobDir, f.path)),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`plain upload exited ${code}`)),
    );
  });

  // 2. The service, end to end.
  const prefix = `bench${rows.length}`;
  const names = redisNames(prefix);
  const port = await freePort();
  const svc = startServiceProcess(here('../dist/main.js'), {
    env: {
      ...emu.env(),
      NODE_NO_WARNINGS: '1',
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redis.url,
      EDGEFLEET_REDIS_PREFIX: prefix,
      EDGEFLEET_DATA_DIR: dataDir,
      EDGEFLEET_OUTPUT_BUCKETS: BUCKET,
      EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
      EDGEFLEET_KEEP_JOB_DIR_SECONDS: '3600',
      EDGEFLEET_LOG_LEVEL: 'warn',
    },
  });
  await svc.waitForHttp(`http://127.0.0.1:${port}/healthz`);
  const status = () => readFileSync(`/proc/${svc.proc.pid}/status`, 'utf8');
  const kb = (text: string, f: string) =>
    Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]) * 1024;
  const before = kb(status(), 'VmRSS');
  const message = {
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: 's3://inputs/main.py' }],
    output: { uri: `s3://${BUCKET}/svc/` },
  };
  for (const to of ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING'] as const)
    await transitionJob(client, names, {
      jobId,
      to,
      by: 'bench',
      now: Date.now(),
      ...(to === 'QUEUED' ? { set: { message: JSON.stringify(message) } } : {}),
    });
  const entry: ResultsEntry = {
    jobId,
    event: 'terminal',
    state: 'SUCCEEDED',
    exitCode: 0,
    hasFiles: true,
    jobDir,
    attempt: 1,
    timings: {},
    at: Date.now(),
  };
  const t0 = performance.now();
  await client.xadd(names.resultsStream, '*', ...encodeEntry(entry));
  const state = await eventually(
    async () => {
      const st = await client.hget(names.jobKey(jobId), 'state');
      return st && !['RUNNING', 'UPLOADING'].includes(st) ? st : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 5 },
  );
  if (state !== 'SUCCEEDED') throw new Error(`job ended ${state}: ${svc.output().slice(-2000)}`);
  const ms = performance.now() - t0;
  const peak = kb(status(), 'VmHWM');
  await svc.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });

  const row = (method: string, r: { ms: number; before: number; peak: number }) => [
    s.name,
    method,
    (r.ms / 1000).toFixed(2),
    (bytes / MiB / (r.ms / 1000)).toFixed(1),
    (r.before / MiB).toFixed(0),
    (r.peak / MiB).toFixed(0),
    ((r.peak - r.before) / MiB).toFixed(0),
  ];
  rows.push(row('plain lib-storage Upload', plain));
  rows.push(row('edgefleet result-uploader', { ms, before, peak }));
}

client.disconnect();
await redis.stop();
await emu.stop();

emitBenchSection({
  id: 'uploader',
  title: 'result-uploader: upload throughput and memory',
  command: 'pnpm build && pnpm --filter @edgefleet/result-uploader bench',
  intro:
    'The built service (dist/main.js) end to end — a `results` entry, then UPLOADING, every file with its ' +
    'sha256 in the same pass, the manifest, SUCCEEDED — next to a plain lib-storage `Upload` of the same ' +
    `files, for ${scenarios.map((x) => x.name).join(', ')}. Each method runs in a process of its own ` +
    "against the same S3/SQS emulator (in the benchmark's process, loopback), so its peak RSS is its own.",
  tables: [
    {
      header: ['files', 'method', 'seconds', 'MiB/s', 'RSS idle MiB', 'peak RSS MiB', 'peak − idle RSS MiB'],
      rows,
      note:
        'plain: sequential `Upload()` per file, 5 MiB parts × 4 in flight, nothing else. edgefleet: small ' +
        'files 4 at once, multipart files one at a time with 8 MiB parts × 2 in flight, timed until the ' +
        "record says SUCCEEDED. RSS idle = VmRSS before the upload; peak RSS = VmHWM (the process's peak " +
        'since it started, which for the service includes its start-up); MiB/s = bytes / seconds.',
    },
  ],
});
