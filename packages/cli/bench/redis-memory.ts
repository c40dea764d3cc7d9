// Redis memory of a node full of finished jobs: a local node (`edgefleet local`: the four services and
// its own redis-server) runs `--real` trivial Python jobs, each with a webhook, through SQS, so their
// records, history, log tails, index members and stream entries are what the services write. A device
// at this machine's pace needs hours for 10,000 such jobs, so the node is then filled up to `--jobs`
// with copies of those jobs' keys under new job ids of the same length, written with the commands the
// services use (HSET, RPUSH, XADD + XTRIM for the tail, ZADD, XADD to both streams, the same TTL); the
// per-job growth of the real part and of the copied part are reported side by side, so the copy's
// fidelity is measured, not assumed. `used_memory` is read every `--every` jobs; at the end every key
// of a finished job is sized with MEMORY USAGE.
//   pnpm --filter @edgefleet/cli bench:redis-memory [--jobs 10000] [--real 1000] [--every 1000]
//     [--out-bytes 64]
// --out-bytes: bytes each job prints to stdout (its log tail) and writes to its one output file.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { type JobMessageInput, redisNames } from '@edgefleet/contracts';
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
import { type LocalNodeProcess, startLocalNodeProcess } from '../src/local/node-process.js';
import { startWebhookRecorder } from '../src/local/webhook-recorder.js';

const { values: a } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    real: { type: 'string', default: '1000' },
    every: { type: 'string', default: '1000' },
    'out-bytes': { type: 'string', default: '64' },
  },
});
const JOBS = Number(a.jobs);
const REAL = Math.min(JOBS, Number(a.real));
const EVERY = Number(a.every);
const OUT_BYTES = Number(a['out-bytes']);
const JOBS_BUCKET = 'edgefleet-jobs';
const RESULTS_BUCKET = 'edgefleet-results';
const SECRET = 'bench-redis-memory-secret-0123456789abcdef';
const JOB_MAIN = `import os, pathlib
text = "x" * ${OUT_BYTES}
print(text)
pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"], "out.txt").write_text(text)
`;
/** Job ids shaped like the CLI's (`2026-12-02-1a2b3c4d`, 19 characters): their length is in every key. */
const jobIdOf = (i: number) => `2026-12-02-${i.toString(16).padStart(8, '0')}`;

interface Point {
  jobs: number;
  usedMemory: number;
  how: 'real' | 'copied';
}
const points: Point[] = [];
const keySizes = new Map<string, number[]>();
const streamRows: string[][] = [];
const recordFields: string[][] = [];
let base = 0;
let atReal = 0;
let final = 0;
let copyS = Number.NaN;
let wallS = Number.NaN;
const outcome = new Map<string, number>();

const work = mkdtempSync(join(tmpdir(), 'edgefleet-bench-redis-memory-'));
chmodSync(work, 0o755);
const dataDir = join(work, 'data');
mkdirSync(dataDir);
const logFile = join(tmpdir(), `edgefleet-bench-redis-memory-${process.pid}.log`);
const emu = await startEmulator();
const hook = await startWebhookRecorder({ port: await freePort() });
let node: LocalNodeProcess | undefined;
let redis: Redis | undefined;

try {
  const queueUrl = emu.createQueue('edgefleet-jobs', { VisibilityTimeout: '60' });
  emu.createBucket(JOBS_BUCKET);
  emu.createBucket(RESULTS_BUCKET);
  node = await startLocalNodeProcess({
    dataDir,
    nodeName: 'bench-redis-memory',
    logFile,
    freePort: () => freePort(),
    env: {
      ...emu.env(),
      EDGEFLEET_WEBHOOK_SECRET: SECRET,
      EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
      EDGEFLEET_QUEUE_URLS: queueUrl,
      EDGEFLEET_ALLOWED_BUCKETS: `${JOBS_BUCKET},${RESULTS_BUCKET}`,
      EDGEFLEET_SQS_WAIT_SECONDS: '1',
    },
  });
  redis = new Redis(node.redisUrl, { maxRetriesPerRequest: 1 });
  const db = redis;
  const names = redisNames();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await db.info('memory'))?.[1]);
  const s3 = emu.s3();
  await s3.send(new PutObjectCommand({ Bucket: JOBS_BUCKET, Key: 'shared/main.py', Body: JOB_MAIN }));
  const message = (jobId: string): JobMessageInput => ({
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: `s3://${JOBS_BUCKET}/shared/main.py` }],
    output: { uri: `s3://${RESULTS_BUCKET}/results/` },
    notify: { webhook: hook.url },
  });
  const sqs = emu.sqs();
  const send = async (ids: string[]) => {
    for (let i = 0; i < ids.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: ids
            .slice(i, i + 10)
            .map((id, k) => ({ Id: String(k), MessageBody: JSON.stringify(message(id)) })),
        }),
      );
  };
  const notified = () => new Set(hook.hooks.map((h) => h.jobId)).size;

  // One warm-up job builds the environment; the baseline is Redis with it and the node's own keys.
  await send(['warm-up-job']);
  await eventually(async () => notified() === 1, { timeoutMs: 180_000, intervalMs: 250, what: 'warm-up' });
  base = await usedMemory();
  process.stdout.write(`warm-up done; used_memory ${base}; ${REAL} jobs through the node\n`);

  const ids = Array.from({ length: JOBS }, (_, i) => jobIdOf(i));
  const realIds = ids.slice(0, REAL);
  const t0 = Date.now();
  await send(realIds);
  let next = EVERY;
  await eventually(
    async () => {
      const done = notified() - 1;
      while (done >= next && next <= REAL) {
        points.push({ jobs: next, usedMemory: await usedMemory(), how: 'real' });
        process.stdout.write(
          `${next} jobs notified in ${((Date.now() - t0) / 1000).toFixed(0)} s; used_memory ${points.at(-1)?.usedMemory}\n`,
        );
        next += EVERY;
      }
      return done >= REAL;
    },
    { timeoutMs: REAL * 2000 + 120_000, intervalMs: 1000, what: `${REAL} jobs notified` },
  );
  // Every record terminal and both streams drained, so nothing is mid-flight when it is sized.
  await eventually(
    async () => {
      const pending = await Promise.all(
        [names.jobsStream, names.resultsStream].map(async (s) =>
          Number(
            (
              (await db.xpending(s, s === names.jobsStream ? 'job-executor' : 'result-uploader')) as [number]
            )[0],
          ),
        ),
      );
      return pending.every((n) => n === 0);
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'streams drained' },
  );
  wallS = (Date.now() - t0) / 1000;
  atReal = await usedMemory();
  if (points.at(-1)?.jobs !== REAL) points.push({ jobs: REAL, usedMemory: atReal, how: 'real' });

  // The copies: job i is a copy of real job i mod REAL, key by key, as the services write them.
  const t1 = Date.now();
  const tailFields = (e: [string, string[]]) => e[1];
  for (let i = REAL; i < JOBS; i++) {
    const src = ids[i % REAL] as string;
    const dst = ids[i] as string;
    const swap = (v: string) => v.replaceAll(src, dst);
    const [hash, history, tail, score, ttl] = await Promise.all([
      db.hgetall(names.jobKey(src)),
      db.lrange(names.historyKey(src), 0, -1),
      db.xrange(names.logTailKey(src), '-', '+'),
      db.zscore(names.jobIndex, src),
      db.pttl(names.jobKey(src)),
    ]);
    const m = db.multi();
    m.hset(names.jobKey(dst), Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, swap(v)])));
    if (history.length) m.rpush(names.historyKey(dst), ...history);
    for (const e of tail) m.xadd(names.logTailKey(dst), 'MAXLEN', '~', 1000, '*', ...tailFields(e));
    if (tail.length) m.xtrim(names.logTailKey(dst), 'MAXLEN', 16);
    if (ttl > 0) {
      m.pexpire(names.jobKey(dst), ttl);
      m.pexpire(names.historyKey(dst), ttl);
      if (tail.length) m.pexpire(names.logTailKey(dst), ttl);
    }
    m.zadd(names.jobIndex, score ?? String(Date.now()), dst);
    await m.exec();
    const done = i + 1;
    if (done % EVERY === 0 && done < JOBS) {
      points.push({ jobs: done, usedMemory: await usedMemory(), how: 'copied' });
      process.stdout.write(`${done} jobs (copies) ; used_memory ${points.at(-1)?.usedMemory}\n`);
    }
  }
  // Stream entries of the copies: the real entries again under the new ids, marked processed by both
  // groups in the same transaction (XGROUP SETID), as the executor and uploader leave theirs.
  for (const [stream, group] of [
    [names.jobsStream, 'job-executor'],
    [names.resultsStream, 'result-uploader'],
  ] as const) {
    const real = await db.xrange(stream, '-', '+');
    const byJob = new Map<string, string[][]>();
    for (const [, f] of real) {
      const at = f.indexOf('jobId');
      const id = at >= 0 ? (f[at + 1] as string) : '';
      byJob.set(id, [...(byJob.get(id) ?? []), f]);
    }
    for (let i = REAL; i < JOBS; i += 100) {
      const m = db.multi();
      for (let k = i; k < Math.min(JOBS, i + 100); k++) {
        const src = ids[k % REAL] as string;
        const dst = ids[k] as string;
        for (const f of byJob.get(src) ?? [])
          m.xadd(stream, 'MAXLEN', '~', 100_000, '*', ...f.map((v) => v.replaceAll(src, dst)));
      }
      m.xgroup('SETID', stream, group, '$');
      await m.exec();
    }
  }
  copyS = (Date.now() - t1) / 1000;
  final = await usedMemory();
  points.push({ jobs: JOBS, usedMemory: final, how: 'copied' });
  for (let i = 0; i < ids.length; i += 500) {
    const states = await Promise.all(ids.slice(i, i + 500).map((id) => db.hget(names.jobKey(id), 'state')));
    for (const s of states) {
      const k = s && TERMINAL.has(s) ? s : `not terminal (${s ?? 'no record'})`;
      outcome.set(k, (outcome.get(k) ?? 0) + 1);
    }
  }

  // Per key of a finished job, over a sample of 200 jobs spread over the run.
  const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(JOBS / 200)) === 0);
  const isReal = new Set(realIds);
  const kinds: [string, (id: string) => string][] = [
    ['record hash', names.jobKey],
    ['history list', names.historyKey],
    ['log tail stream', names.logTailKey],
    ['uploaded-files hash', names.uploadedKey],
  ];
  for (const id of sample)
    for (const [kind, key] of kinds) {
      const n = (await db.memory('USAGE', key(id), 'SAMPLES', '0')) as number | null;
      const label = `${kind}|${isReal.has(id) ? 'real' : 'copied'}`;
      const list = keySizes.get(label) ?? [];
      list.push(n ?? 0);
      keySizes.set(label, list);
    }
  const last = realIds.at(-1) as string;
  const fields = await db.hgetall(names.jobKey(last));
  for (const [k, v] of Object.entries(fields)) recordFields.push([`\`${k}\``, String(Buffer.byteLength(v))]);
  const zsize = (await db.memory('USAGE', names.jobIndex, 'SAMPLES', '0')) as number;
  const zcard = await db.zcard(names.jobIndex);
  streamRows.push([
    'job index (zset)',
    String(zcard),
    fmt(zsize / 1024, 0),
    fmt(zsize / Math.max(1, zcard), 0),
  ]);
  for (const [label, s] of [
    ['`jobs` stream', names.jobsStream],
    ['`results` stream', names.resultsStream],
  ] as const) {
    const len = await db.xlen(s);
    const size = ((await db.memory('USAGE', s, 'SAMPLES', '0')) as number | null) ?? 0;
    streamRows.push([label, String(len), fmt(size / 1024, 0), fmt(size / Math.max(1, len), 0)]);
  }
} finally {
  redis?.disconnect();
  await node?.stop();
  await hook.close();
  await emu.stop();
  rmSync(work, { recursive: true, force: true });
}

const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);
const perJob = (final - base) / JOBS;
const perReal = (atReal - base) / REAL;
const perCopy = JOBS > REAL ? (final - atReal) / (JOBS - REAL) : Number.NaN;
const curve: BenchTable = {
  title: '`used_memory` as finished jobs accumulate',
  header: ['finished jobs', 'how', 'used_memory MiB', 'growth since the warm-up MiB', 'per job bytes'],
  rows: points.map((p) => [
    String(p.jobs),
    p.how === 'real' ? 'run by the node' : 'copies',
    fmt(p.usedMemory / 2 ** 20, 1),
    fmt((p.usedMemory - base) / 2 ** 20, 1),
    fmt((p.usedMemory - base) / p.jobs, 0),
  ]),
};
const kindsSeen = [...new Set([...keySizes.keys()].map((k) => k.split('|')[0] as string))];
const perKey: BenchTable = {
  title: 'Keys one finished job leaves (MEMORY USAGE, mean over 200 jobs spread over the run)',
  header: ['key', 'run by the node, bytes', 'copies, bytes'],
  rows: kindsSeen.map((k) => [
    k,
    fmt(mean(keySizes.get(`${k}|real`) ?? []), 0),
    keySizes.has(`${k}|copied`) ? fmt(mean(keySizes.get(`${k}|copied`) ?? []), 0) : '–',
  ]),
};
const shared: BenchTable = {
  title: 'Shared keys at the end',
  header: ['key', 'entries', 'KiB', 'bytes per entry'],
  rows: streamRows,
};
const fieldsTable: BenchTable = {
  title: "A finished job's record hash: value bytes per field",
  header: ['field', 'bytes'],
  rows: recordFields,
};
emitBenchSection({
  id: 'redis-memory',
  title: 'Redis memory: a node full of finished jobs',
  command: `pnpm --filter @edgefleet/cli bench:redis-memory --jobs ${JOBS} --real ${REAL} --every ${EVERY} --out-bytes ${OUT_BYTES}`,
  intro:
    'A node in local mode (`edgefleet local`: the four services and their own redis-server 7 with AOF, ' +
    '`hash-max-listpack-value 1024`, `stream-node-max-bytes 1024` as in docker/compose.yaml), ' +
    `S3/SQS from the emulator in the benchmark's process, runs ${REAL} trivial Python jobs sent through ` +
    `SQS (each prints ${OUT_BYTES} bytes and writes them to one output file; each has a signed webhook, ` +
    'delivered to a receiver in the driver). Then the node is filled up to ' +
    `${JOBS} finished jobs with copies of those jobs' keys under new job ids of the same length, written ` +
    'with the commands the services use (record HSET, history RPUSH, tail XADD then XTRIM to 16 chunks, ' +
    'the same TTL, index ZADD, the stream entries XADDed and marked processed), while the node runs. ' +
    `\`used_memory\` (INFO memory) is read after a warm-up job and every ${EVERY} jobs; at the end ` +
    "every key a finished job leaves is sized with `MEMORY USAGE … SAMPLES 0`. Memory is what Redis's " +
    'allocator holds, so it does not depend on the load of the machine.',
  tables: [curve, perKey, shared, fieldsTable],
  notes: [
    `${REAL} jobs ran through the node in ${fmt(wallS, 0)} s; the copies took ${fmt(copyS, 0)} s. ` +
      `Final states: ${[...outcome].map(([k, n]) => `${k} ${n}`).join(', ')}.`,
    "Rows of copies before the last count only the copies' own keys (record, history, tail, index): their " +
      "stream entries are added at the end, so the last row's jump (≈ 1.2 KiB per job) is the two stream " +
      `entries of ${JOBS - REAL} copies.`,
    `Per finished job: **${fmt(perJob / 1024, 2)} KiB** of \`used_memory\` (growth from the warm-up to ${JOBS} jobs ÷ ${JOBS}); ` +
      `${fmt(perReal / 1024, 2)} KiB per job run by the node, ${fmt(perCopy / 1024, 2)} KiB per copy. ` +
      'Record, history, trimmed log tail, index member and one `jobs` and one `results` entry each ' +
      '(10,000 jobs keep both streams under their 8 MiB budget, so nothing was trimmed).',
  ],
});
process.stdout.write(`node log: ${logFile}\n`);
process.exit(0);
