// Whole-pipeline benchmark: trivial jobs through a local node (`edgefleet local`: the S3/SQS emulator
// in local mode's process, its own redis-server with AOF `appendfsync always`, the four services as
// built processes), compared in the same run with the naive flow of the original worker (naive-worker.ts)
// against the same emulator.
//   pnpm --filter @edgefleet/cli bench:pipeline [--sequential 50] [--burst 150] [--naive-sequential 5]
//     [--naive-burst 8] [--single-process-rounds 50] [--baseline <commit> [--baseline-rounds 100]] [--keep-log]
// (or EDGEFLEET_BENCH_SEQUENTIAL, _BURST, _NAIVE_SEQUENTIAL, _NAIVE_BURST, _SINGLE_PROCESS_ROUNDS,
// _BASELINE, _BASELINE_ROUNDS, _KEEP_LOG=1). A single-process node of this code (`edgefleet local
// --single-process`) runs next to the four-process one and the same warm job alternates between the two
// (0 rounds: none). With a baseline, a second local node runs that commit's code (baseline-tree.ts builds it)
// and warm jobs alternate between the two nodes, one job in flight at a time, so that the machine's load
// weighs on both alike; the section then compares their warm-job overhead. Exit code 1 when a job is lost
// (no notification by its deadline), ends other than SUCCEEDED or misses its output in S3.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type HistoryEntry, maskUrlCredentials, redisNames } from '@edgefleet/contracts';
import {
  type BenchSection,
  buildWheel,
  emitBenchSection,
  freePort,
  sectionMarkdown,
  serveFiles,
} from '@edgefleet/testkit';
import { Redis } from 'ioredis';
import { prng } from '../src/chaos/plan.js';
import { folderMessage, listFiles } from '../src/commands/submit.js';
import { startLocalNodeProcess } from '../src/local/node-process.js';
import { type RecordedHook, startWebhookRecorder } from '../src/local/webhook-recorder.js';
import { BASELINE_JOB_USER, type BaselineTree, prepareBaselineTree } from './baseline-tree.js';
import { runNaiveWorker } from './naive-worker.js';
import {
  BASELINE_HEADER,
  baselineRows,
  type FlowResult,
  type FlowSummary,
  type JobTiming,
  overheadMs,
  type PairedDifference,
  PIPELINE_HEADER,
  pairedDifference,
  pairedText,
  ratioRow,
  summarize,
  summaryRow,
} from './pipeline-stats.js';
import { ensureSystemUser } from './system-user.js';

const argv = process.argv.slice(2);
const knob = (name: string, variable: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  const raw = i >= 0 ? argv[i + 1] : process.env[variable];
  const n = raw === undefined ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} / ${variable}: expected a positive integer`);
  return n;
};
const SEQUENTIAL = knob('sequential', 'EDGEFLEET_BENCH_SEQUENTIAL', 50);
const BURST = knob('burst', 'EDGEFLEET_BENCH_BURST', 150);
const NAIVE_SEQUENTIAL = knob('naive-sequential', 'EDGEFLEET_BENCH_NAIVE_SEQUENTIAL', 5);
const NAIVE_BURST = knob('naive-burst', 'EDGEFLEET_BENCH_NAIVE_BURST', 8);
const BASELINE = (() => {
  const i = argv.indexOf('--baseline');
  const ref = i >= 0 ? argv[i + 1] : process.env.EDGEFLEET_BENCH_BASELINE;
  return ref === undefined || ref === '' ? undefined : ref;
})();
const BASELINE_ROUNDS = knob('baseline-rounds', 'EDGEFLEET_BENCH_BASELINE_ROUNDS', 100);
/** Rounds of the comparison with a single-process node of this code (0: none). */
const SINGLE_PROCESS_ROUNDS = (() => {
  const i = argv.indexOf('--single-process-rounds');
  const raw = i >= 0 ? argv[i + 1] : process.env.EDGEFLEET_BENCH_SINGLE_PROCESS_ROUNDS;
  const n = raw === undefined || raw === '' ? 50 : Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      '--single-process-rounds / EDGEFLEET_BENCH_SINGLE_PROCESS_ROUNDS: expected an integer ≥ 0',
    );
  return n;
})();
/** Longest wait for one job's notification when it is alone in flight (the naive flow takes ~5–10 s). */
const PER_JOB_DEADLINE_MS = 90_000;
/** Keep local mode's log after a successful run too (it is always kept after a failure). */
const KEEP_LOG = argv.includes('--keep-log') || process.env.EDGEFLEET_BENCH_KEEP_LOG === '1';

const PYTHON = '/usr/bin/python3';
const SECRET = 'pipeline-bench-webhook-secret-0123456789';
const JOBS_BUCKET = 'edgefleet-jobs';
const RESULTS_BUCKET = 'edgefleet-results';
const RESULTS_PREFIX = 'results/';
const RESULTS_URI = `s3://${RESULTS_BUCKET}/${RESULTS_PREFIX}`;
const NAIVE_QUEUE = 'edgefleet-bench-naive';
/**
 * The node's job user: one of its own (system-user.ts), so that jobs of tests or other nodes running as
 * edgefleet-job on the same machine do not keep the executor from starting.
 */
const JOB_USER = 'edgefleet-bench';
/** Local mode's settings that shape throughput, set explicitly so the report states them truthfully. */
const NODE_SETTINGS = {
  EDGEFLEET_CONCURRENCY: '1', // executor: jobs run at once
  EDGEFLEET_JOB_CONCURRENCY: '1', // uploader: results entries handled at once
  EDGEFLEET_SQS_BATCH_SIZE: '10', // receiver: messages per ReceiveMessage
  EDGEFLEET_MAX_BACKLOG: '20', // receiver: stops polling while this many jobs wait in Redis
  EDGEFLEET_JOB_USER: JOB_USER, // executor: see JOB_USER
};

const WHEEL = {
  name: 'edgefleet-bench-dep',
  version: '1.0',
  modules: { 'edgefleet_bench_dep/__init__.py': 'def greet(name):\n    return f"hello {name}"\n' },
};
/**
 * The user's code. It times itself (ms since the epoch, the machine's one clock) from its first line to
 * its last and writes that into its output, so both flows subtract the same thing: the body of main.py,
 * not the interpreter's start or any launcher around it.
 */
const MAIN_PY = `import json, os, pathlib, time
start = time.time()
import edgefleet_bench_dep
msg = edgefleet_bench_dep.greet(os.environ["EDGEFLEET_JOB_ID"])
print(msg)
out = pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"], "out.txt")
out.write_text(json.dumps({"msg": msg, "startMs": start * 1000, "endMs": time.time() * 1000}))
`;

const SHARED_USER_NOTE =
  'they share the CPU with this run (and an executor older than the job sandbox, at concurrency 1, ends every process of its job user when a job ends): run the benchmark alone';
const KILLED_HINT = ` — another node on this machine? ${SHARED_USER_NOTE}`;

const say = (line: string) => process.stdout.write(`pipeline │ ${line}\n`);
const problems: string[] = [];

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

/** Pids of job-executor processes already running on this machine (Linux /proc; [] elsewhere). */
function runningExecutors(): number[] {
  const pids: number[] = [];
  try {
    for (const n of readdirSync('/proc')) {
      if (!/^\d+$/.test(n)) continue;
      try {
        if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('job-executor/dist/main.js'))
          pids.push(Number(n));
      } catch {
        // gone
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

/** Terminal notifications by jobId (the first one: a repeated delivery carries the same body). */
class Notifications {
  private readonly first = new Map<string, RecordedHook>();
  private waiters: { ids: Set<string>; done: () => void }[] = [];
  add(hook: RecordedHook) {
    if (hook.body?.event !== 'terminal' || this.first.has(hook.jobId)) return;
    this.first.set(hook.jobId, hook);
    this.waiters = this.waiters.filter((w) => {
      w.ids.delete(hook.jobId);
      if (w.ids.size > 0) return true;
      w.done();
      return false;
    });
  }
  get(jobId: string) {
    return this.first.get(jobId);
  }
  /** Resolves when every job has its terminal notification; rejects naming the missing ones at the deadline. */
  wait(jobIds: string[], timeoutMs: number, what: string): Promise<void> {
    const ids = new Set(jobIds.filter((id) => !this.first.has(id)));
    if (ids.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.ids !== ids);
        reject(
          new Error(
            `${what}: no notification within ${timeoutMs} ms for ${ids.size} job(s): ${[...ids].slice(0, 5).join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        ids,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** A node's clients: its S3 and SQS (the emulator in its local mode process), its Redis, its job queue. */
interface NodeClients {
  s3: S3Client;
  sqs: SQSClient;
  redis: Redis;
  jobsQueue: string;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const started = Date.now();
// Built before anything is measured: the build's CPU must not weigh on any job.
const baselineTree: BaselineTree | undefined = BASELINE
  ? prepareBaselineTree(join(import.meta.dirname, '../../..'), BASELINE, say)
  : undefined;
ensureSystemUser(JOB_USER, say);
if (baselineTree || SINGLE_PROCESS_ROUNDS) ensureSystemUser(BASELINE_JOB_USER, say);
const work = mkdtempSync(join(tmpdir(), 'edgefleet-bench-pipeline-'));
// Job code runs as an unprivileged user that must reach the data folder below this one.
chmodSync(work, 0o755);
const logFile = join(tmpdir(), `edgefleet-bench-pipeline-${process.pid}.log`);
const cleanups: (() => Promise<void> | void)[] = [];
let section: BenchSection | undefined;
let cleanedUp: Promise<void> | undefined;
/** Stops everything this run started, once, in reverse order of start (the naive worker and the
 * clients before the node, whose process holds the emulator; the node before the webhook receiver). */
const cleanUp = () => {
  cleanedUp ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // best effort
      }
    }
    rmSync(work, { recursive: true, force: true });
  })();
  return cleanedUp;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    say(`${signal}: stopping`);
    void cleanUp().then(() => {
      say(`node log: ${logFile}`);
      process.exit(130);
    });
  });

try {
  // The job: main.py imports a package that requirements.txt installs from a wheel URL (served on
  // loopback), prints one line and writes output/out.txt.
  const wheelDir = join(work, 'wheels');
  mkdirSync(wheelDir);
  const wheelPath = await buildWheel(WHEEL, wheelDir);
  const files = await serveFiles(wheelDir);
  cleanups.push(() => files.close());
  const jobDir = join(work, 'job');
  mkdirSync(jobDir);
  writeFileSync(join(jobDir, 'main.py'), MAIN_PY);
  writeFileSync(
    join(jobDir, 'requirements.txt'),
    `${WHEEL.name} @ ${files.url}/${wheelPath.split('/').pop()}\n`,
  );
  const jobFiles = listFiles(jobDir);
  const jobFileBytes = new Map(jobFiles.map((f) => [f, readFileSync(join(jobDir, f))]));

  const hooks = await startWebhookRecorder({ secret: SECRET });
  cleanups.push(() => hooks.close());
  const notes = new Notifications();
  hooks.onHook((h) => notes.add(h));

  const others = runningExecutors();
  if (others.length)
    say(
      `warning: ${others.length} other job-executor process(es) run on this machine (pids ${others.join(', ')}); ${SHARED_USER_NOTE}`,
    );
  const emulatorPort = await freePort();
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  say(`starting a local node (log: ${logFile})`);
  const node = await startLocalNodeProcess({
    dataDir,
    nodeName: 'bench-node',
    logFile,
    freePort,
    env: {
      EDGEFLEET_LOCAL_EMULATOR_PORT: String(emulatorPort),
      EDGEFLEET_WEBHOOK_SECRET: SECRET,
      ...NODE_SETTINGS,
    },
  });
  cleanups.push(() => node.stop());
  const endpoint = `http://127.0.0.1:${emulatorPort}`;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const s3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials });
  cleanups.push(() => {
    s3.destroy();
    sqs.destroy();
  });
  const jobsQueue = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'edgefleet-jobs' }))).QueueUrl ?? '';
  const naiveQueue = (await sqs.send(new CreateQueueCommand({ QueueName: NAIVE_QUEUE }))).QueueUrl ?? '';
  const redis = new Redis(node.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  const names = redisNames();
  say(`node up: redis ${maskUrlCredentials(node.redisUrl)}, S3/SQS ${endpoint}`);
  const here: NodeClients = { s3, sqs, redis, jobsQueue };

  let seq = 0;
  const newJobId = (flow: string) => `bench-${flow}-${String(seq++).padStart(4, '0')}`;
  /** Uploads the job's files under `<jobId>/` (to the node `via`'s S3) and returns its message body. */
  const prepare = async (jobId: string, via: NodeClients = here): Promise<string> => {
    const message = folderMessage(
      jobDir,
      jobFiles,
      { target: jobDir, webhook: hooks.url },
      JOBS_BUCKET,
      RESULTS_URI,
      jobId,
    );
    for (const f of jobFiles)
      await via.s3.send(
        new PutObjectCommand({
          Bucket: JOBS_BUCKET,
          Key: `${jobId}/${f}`,
          Body: jobFileBytes.get(f),
        }),
      );
    return JSON.stringify(message);
  };
  const send = (queueUrl: string, body: string, client: SQSClient = sqs) =>
    client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  /** Sends every body at once: SendMessageBatch of 10, all batches concurrently; resolves to the start time. */
  const sendBurst = async (queueUrl: string, bodies: string[], client: SQSClient = sqs): Promise<number> => {
    const batches: string[][] = [];
    for (let i = 0; i < bodies.length; i += 10) batches.push(bodies.slice(i, i + 10));
    const t = Date.now();
    await Promise.all(
      batches.map(async (b) => {
        const r = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: b.map((body, i) => ({ Id: String(i), MessageBody: body })),
          }),
        );
        if (r.Failed?.length) throw new Error(`SendMessageBatch failed for ${r.Failed.length} message(s)`);
      }),
    );
    return t;
  };

  /** The user code's own run time in ms, from the output.txt it uploaded (which also proves the upload). */
  const userCodeMs = async (jobId: string, via: NodeClients = here): Promise<number> => {
    try {
      const got = await via.s3.send(
        new GetObjectCommand({ Bucket: RESULTS_BUCKET, Key: `${RESULTS_PREFIX}${jobId}/output/out.txt` }),
      );
      const t = JSON.parse((await got.Body?.transformToString()) ?? '') as { startMs: number; endMs: number };
      return t.endMs - t.startMs;
    } catch (e) {
      problems.push(`${jobId}: output/out.txt missing or unreadable in S3 (${(e as Error).message})`);
      return 0;
    }
  };

  /**
   * An edgefleet job's timing: from the QUEUED entry of its history (written by job-receiver with its
   * clock when it starts the hand-off of a message it has just received and parsed) to the arrival of
   * the terminal notification at the webhook, minus the user code's own run time.
   */
  const timingOn =
    (via: NodeClients) =>
    async (jobId: string, sentAt: number): Promise<JobTiming> => {
      const hook = notes.get(jobId);
      if (!hook) throw new Error(`no notification for ${jobId}`);
      if (hook.state !== 'SUCCEEDED')
        problems.push(
          `${jobId} ended ${hook.state} (${hook.body?.reason}: ${hook.body?.detail ?? ''})${hook.body?.reason === 'KILLED_BY_SIGNAL' ? KILLED_HINT : ''}`,
        );
      if (hook.signatureOk === false) problems.push(`${jobId}: the notification's signature did not verify`);
      const history = (await via.redis.lrange(names.historyKey(jobId), 0, -1)).map(
        (h) => JSON.parse(h) as HistoryEntry,
      );
      const queued = history.find((h) => h.state === 'QUEUED');
      if (!queued) throw new Error(`${jobId} has no QUEUED entry in its history`);
      return {
        jobId,
        sentAt,
        receivedAt: queued.at,
        notifiedAt: hook.receivedAt,
        runMs: await userCodeMs(jobId, via),
      };
    };
  const edgefleetTiming = timingOn(here);

  type Timing = (jobId: string, sentAt: number) => Promise<JobTiming>;
  /** One job in flight: each message is sent when the previous job's notification has arrived. */
  const runSequential = async (queueUrl: string, flow: string, ids: string[], timing: Timing) => {
    const bodies = new Map<string, string>();
    await inParallel(ids, 8, async (id) => void bodies.set(id, await prepare(id)));
    const sent = new Map<string, number>();
    for (const id of ids) {
      sent.set(id, Date.now());
      await send(queueUrl, bodies.get(id) ?? '');
      await notes.wait([id], PER_JOB_DEADLINE_MS, flow);
    }
    say(`${flow}: done`);
    return { flow, jobs: await Promise.all(ids.map((id) => timing(id, sent.get(id) ?? 0))) };
  };
  /** Every message sent at once; `perJobMs` bounds the wait (plus a minute). */
  const runBurst = async (
    queueUrl: string,
    flow: string,
    ids: string[],
    timing: Timing,
    perJobMs: number,
  ): Promise<FlowResult> => {
    const bodies: string[] = [];
    await inParallel(ids, 8, async (id) => void bodies.push(await prepare(id)));
    const sentAt = await sendBurst(queueUrl, bodies);
    await notes.wait(ids, 60_000 + ids.length * perJobMs, flow);
    say(`${flow}: done`);
    return { flow, jobs: await Promise.all(ids.map((id) => timing(id, sentAt))) };
  };
  const ids = (flow: string, n: number) => Array.from({ length: n }, () => newJobId(flow));

  // --- edgefleet: warm-up (builds and caches the environment, excluded), sequential, burst --------
  const warm = newJobId('warmup');
  await send(jobsQueue, await prepare(warm));
  await notes.wait([warm], 300_000, 'warm-up job');
  await edgefleetTiming(warm, 0);
  say(`warm-up job done (${warm}); the environment is cached`);
  const sequential = await runSequential(
    jobsQueue,
    'edgefleet, sequential',
    ids('seq', SEQUENTIAL),
    edgefleetTiming,
  );
  const burst = await runBurst(
    jobsQueue,
    `edgefleet, burst of ${BURST}`,
    ids('burst', BURST),
    edgefleetTiming,
    2_000,
  );

  // --- other nodes, interleaved with this one: an earlier commit's code (--baseline), this code as a
  // single-process node (--single-process) -------------------------------------------------------------
  interface Comparison {
    current: FlowSummary;
    other: FlowSummary;
    load: [number, number];
    rounds: number;
    /** The other node's overhead − this node's, paired by round (seeded bootstrap: reproducible). */
    paired: PairedDifference;
  }
  /**
   * Starts another node next to this one and sends the same warm job to both, interleaved: round i sends
   * this node's job first when i is even, the other's first when it is odd, so that neither side always
   * follows the other; one job in flight at a time, on either node.
   */
  const compareInterleaved = async (o: {
    start: typeof startLocalNodeProcess;
    nodeName: string;
    env: Record<string, string>;
    label: string;
    tag: string;
    rounds: number;
  }): Promise<Comparison> => {
    const emulatorPort = await freePort();
    const dataDir = join(work, `${o.tag}-data`);
    mkdirSync(dataDir);
    say(`starting a local node: ${o.label} (log: ${logFile})`);
    const other = await o.start({
      dataDir,
      nodeName: o.nodeName,
      logFile,
      freePort,
      env: {
        EDGEFLEET_LOCAL_EMULATOR_PORT: String(emulatorPort),
        EDGEFLEET_WEBHOOK_SECRET: SECRET,
        ...NODE_SETTINGS,
        ...o.env,
      },
    });
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= other.stop();
      return stopped;
    };
    cleanups.push(stop);
    const endpoint = `http://127.0.0.1:${emulatorPort}`;
    const oS3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
    const oSqs = new SQSClient({ endpoint, region: 'us-east-1', credentials });
    const oRedis = new Redis(other.redisUrl, { maxRetriesPerRequest: 2 });
    oRedis.on('error', () => {});
    const closeClients = () => {
      oS3.destroy();
      oSqs.destroy();
      oRedis.disconnect();
    };
    cleanups.push(closeClients);
    const there: NodeClients = {
      s3: oS3,
      sqs: oSqs,
      redis: oRedis,
      jobsQueue: (await oSqs.send(new GetQueueUrlCommand({ QueueName: 'edgefleet-jobs' }))).QueueUrl ?? '',
    };
    const warmup = newJobId(`${o.tag}-warmup`);
    await send(there.jobsQueue, await prepare(warmup, there), there.sqs);
    await notes.wait([warmup], 300_000, `${o.label}: warm-up job`);
    await timingOn(there)(warmup, 0);
    // Then as many jobs as this node ran before the rounds (the sequential run and the burst), so that
    // both nodes enter them equally warm: V8 has compiled the same hot paths, the heaps have settled.
    // With one warm-up job only, the other node spent its first rounds warming up while this one was
    // long warm, which weighed against the other node in every comparison.
    const warmIds = ids(`${o.tag}-warm`, SEQUENTIAL + BURST);
    const warmBodies: string[] = [];
    await inParallel(warmIds, 8, async (id) => void warmBodies.push(await prepare(id, there)));
    await sendBurst(there.jobsQueue, warmBodies, there.sqs);
    await notes.wait(warmIds, 60_000 + warmIds.length * 2_000, `${o.label}: warm-up`);
    say(`${o.label}: warmed up (${1 + warmIds.length} jobs); ${o.rounds} rounds of one job on each node`);
    const ours: JobTiming[] = [];
    const theirs: JobTiming[] = [];
    const loadBefore = loadavg()[0] ?? 0;
    for (let i = 0; i < o.rounds; i++) {
      const pair: [NodeClients, JobTiming[], string][] = [
        [here, ours, `cmp-this-${o.tag}`],
        [there, theirs, `cmp-${o.tag}`],
      ];
      if (i % 2 === 1) pair.reverse();
      for (const [via, into, flow] of pair) {
        const id = newJobId(flow);
        const body = await prepare(id, via);
        const sentAt = Date.now();
        await send(via.jobsQueue, body, via.sqs);
        await notes.wait([id], PER_JOB_DEADLINE_MS, flow);
        into.push(await timingOn(via)(id, sentAt));
      }
    }
    const loadAfter = loadavg()[0] ?? 0;
    say(`${o.label}: comparison done`);
    closeClients();
    await stop();
    return {
      current: summarize({ flow: 'this code, four processes', jobs: ours }),
      other: summarize({ flow: o.label, jobs: theirs }),
      load: [loadBefore, loadAfter],
      rounds: o.rounds,
      paired: pairedDifference(theirs, ours, prng(1)),
    };
  };

  let comparison: Comparison | undefined;
  if (baselineTree) {
    // That commit's own launcher (its dist/local/node-process.js starts its own packages/cli/dist/main.js).
    const baselineModule = (await import(
      join(baselineTree.dir, 'packages/cli/dist/local/node-process.js')
    )) as { startLocalNodeProcess: typeof startLocalNodeProcess };
    comparison = await compareInterleaved({
      start: baselineModule.startLocalNodeProcess,
      nodeName: 'bench-baseline',
      env: { EDGEFLEET_JOB_USER: BASELINE_JOB_USER },
      label: `baseline ${baselineTree.commit.slice(0, 12)}`,
      tag: 'base',
      rounds: BASELINE_ROUNDS,
    });
  }
  const single = SINGLE_PROCESS_ROUNDS
    ? await compareInterleaved({
        start: startLocalNodeProcess,
        nodeName: 'bench-single',
        env: { EDGEFLEET_LOCAL_SINGLE_PROCESS: 'true', EDGEFLEET_JOB_USER: BASELINE_JOB_USER },
        label: 'this code, single process',
        tag: 'single',
        rounds: SINGLE_PROCESS_ROUNDS,
      })
    : undefined;

  // --- naive worker: warm-up (excluded), sequential, burst ----------------------------------------
  const naiveReceived = new Map<string, number>();
  const naiveRoot = join(work, 'naive');
  mkdirSync(naiveRoot);
  const worker = runNaiveWorker({
    sqs,
    s3,
    queueUrl: naiveQueue,
    workRoot: naiveRoot,
    python: PYTHON,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, PIP_CACHE_DIR: join(work, 'pip-cache') },
    onReceived: (id, at) => void naiveReceived.set(id, at),
    onError: (id, e) => problems.push(`naive worker, ${id}: ${e.message}`),
  });
  cleanups.push(() => worker.stop());
  /** A naive job's timing: from the return of the worker's ReceiveMessage to the notification's arrival. */
  const naiveTiming: Timing = async (jobId, sentAt) => {
    const hook = notes.get(jobId);
    const receivedAt = naiveReceived.get(jobId);
    if (!hook || receivedAt === undefined) throw new Error(`naive ${jobId}: not received or not notified`);
    return { jobId, sentAt, receivedAt, notifiedAt: hook.receivedAt, runMs: await userCodeMs(jobId) };
  };
  const naiveWarm = newJobId('naive-warmup');
  await send(naiveQueue, await prepare(naiveWarm));
  await notes.wait([naiveWarm], 300_000, 'naive warm-up job');
  const naiveSequential = await runSequential(
    naiveQueue,
    'naive worker, sequential',
    ids('naive-seq', NAIVE_SEQUENTIAL),
    naiveTiming,
  );
  const naiveBurst = await runBurst(
    naiveQueue,
    `naive worker, burst of ${NAIVE_BURST}`,
    ids('naive-burst', NAIVE_BURST),
    naiveTiming,
    PER_JOB_DEADLINE_MS,
  );

  // --- the report ---------------------------------------------------------------------------------
  for (const flow of [sequential, naiveSequential, burst, naiveBurst]) {
    const slowest = [...flow.jobs].sort((x, y) => overheadMs(y) - overheadMs(x)).slice(0, 3);
    say(
      `${flow.flow}: slowest ${slowest.map((j) => `${j.jobId} ${Math.round(overheadMs(j))} ms`).join(', ')}`,
    );
  }
  const [s, ns, b, nb] = [sequential, naiveSequential, burst, naiveBurst].map(summarize) as [
    FlowSummary,
    FlowSummary,
    FlowSummary,
    FlowSummary,
  ];
  const cpu = cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}, ${version(PYTHON, ['--version'])}, ${version('redis-server', ['--version']).replace(/^Redis server v=(\S+).*$/, 'redis $1')}`;
  section = {
    id: 'pipeline',
    title: 'Whole pipeline: trivial jobs, edgefleet vs the naive worker',
    command: `pnpm --filter @edgefleet/cli bench:pipeline --sequential ${SEQUENTIAL} --burst ${BURST} --naive-sequential ${NAIVE_SEQUENTIAL} --naive-burst ${NAIVE_BURST}${SINGLE_PROCESS_ROUNDS !== 50 ? ` --single-process-rounds ${SINGLE_PROCESS_ROUNDS}` : ''}${baselineTree ? ` --baseline ${baselineTree.commit.slice(0, 12)} --baseline-rounds ${BASELINE_ROUNDS}` : ''}`,
    intro: [
      `Machine: ${machine}. All numbers below come from one run of ${((Date.now() - started) / 1000).toFixed(0)} s on this machine.`,
      '',
      "The node is a local node as `edgefleet local` starts it (free ports): the S3/SQS emulator (fauxqs) in local mode's process, its own redis-server with AOF and `appendfsync always`, and the four services as built processes (`dist/main.js`), executor concurrency 1, uploader concurrency 1, receiver batches of 10 and a backlog limit of 20 jobs; jobs run as a user of the benchmark's own (`" +
        JOB_USER +
        '`). ' +
        "Each job is a job message v1 sent to the node's SQS queue (files uploaded to S3 beforehand): `main.py` imports a package that `requirements.txt` installs from a wheel URL on a loopback file server, prints a line and writes `output/out.txt` (with its own start and end times); the notification is the signed webhook to a receiver in the driver. One warm-up job ran first (it builds the cached environment) and is excluded, so every measured edgefleet job reuses the environment.",
      '',
      `- **naive worker**: the original worker's flow, in the driver, against the same emulator and its own queue: one job at a time, download the files from S3, \`python3 -m venv\` a fresh environment, \`pip install --no-index -r requirements.txt\` (the same wheel URL), run \`main.py\`, upload \`output/\` to S3, POST the notification, delete the message. It too ran one warm-up job first, excluded.`,
      `- **sequential**: one job in flight, the next message sent when the previous job's notification has arrived (edgefleet ${SEQUENTIAL} jobs, naive ${NAIVE_SEQUENTIAL}).`,
      `- **burst**: every message sent at once, SendMessageBatch of 10, concurrently (edgefleet ${BURST} jobs, naive ${NAIVE_BURST}).`,
    ].join('\n'),
    tables: [
      {
        header: PIPELINE_HEADER,
        rows: [
          summaryRow(s),
          summaryRow(ns),
          ratioRow('ratio, sequential', s, ns),
          summaryRow(b),
          summaryRow(nb),
          ratioRow('ratio, burst', b, nb, true),
        ],
        note:
          '**jobs/s** = jobs ÷ (arrival of the last notification − sending of the first message). ' +
          "**overhead** = (arrival of the terminal notification at the webhook receiver − receipt of the SQS message) − the user code's run time, per job; p50/p99 by nearest rank (p99 of fewer than 100 jobs is the maximum). " +
          "Receipt of the message: for edgefleet the `at` of the job's QUEUED history entry in Redis (job-receiver's clock as it starts handing off a message it has just received and parsed); for the naive worker the moment its ReceiveMessage returned. " +
          "User code run time: measured by `main.py` itself from its first line to its last (it writes it into its output, read back from S3), so interpreter start-up and edgefleet's sandbox launcher count as overhead. " +
          'Under the burst, overhead includes the time a job waits in Redis behind the jobs before it (up to the backlog limit); jobs still in SQS are not yet received. ' +
          '**send→notification** = arrival of the notification − sending of the message: what the sender waits, time in SQS included. ' +
          'Ratio rows: how many times better edgefleet is than the naive worker in the same mode (jobs/s edgefleet ÷ naive, times naive ÷ edgefleet); ' +
          "for the bursts only throughput is compared: their per-job times depend on the burst's size (a job waits behind those before it), and the naive burst is far smaller.",
      },
      ...(single
        ? [
            {
              title:
                'Warm-job overhead: the four-process node vs the single-process node (`edgefleet node`), interleaved in the same run',
              header: BASELINE_HEADER,
              rows: baselineRows(single.other, single.current, 'single ÷ four'),
              note:
                `A second local node of this code, started with \`--single-process\` (the four services in one Node process, the same settings, its own node flags \`--max-semi-space-size=2 --v8-pool-size=1\` (SINGLE_PROCESS_NODE_ARGS in packages/cli/src/local/services.ts), its own emulator and redis-server; its jobs ran as ${BASELINE_JOB_USER}), ran next to the four-process node after the runs above; after as many warm-up jobs on it as the four-process node had run (${1 + SEQUENTIAL + BURST}, excluded), ${single.rounds} rounds each sent one job to each node, alternating which went first, one job in flight at a time (load average ${single.load[0].toFixed(1)} before the rounds, ${single.load[1].toFixed(1)} after). ` +
                '**single ÷ four** = the single-process percentile ÷ the four-process one (above 1: the single-process node is slower). ' +
                `Paired by round (the two jobs of a round ran back to back, under the same load): median of single − four ${pairedText(single.paired)}.`,
            },
          ]
        : []),
      ...(comparison && baselineTree
        ? [
            {
              title: `Warm-job overhead: this code vs ${baselineTree.commit.slice(0, 12)}, interleaved in the same run`,
              header: BASELINE_HEADER,
              rows: baselineRows(comparison.current, comparison.other),
              note:
                `A second local node, built from commit ${baselineTree.commit.slice(0, 12)} (\`git archive\`, \`pnpm install --frozen-lockfile\`, \`pnpm build\`; packages/cli/bench/baseline-tree.ts), with the same settings, emulator and Redis set-up (its jobs ran as a user of their own, ${BASELINE_JOB_USER}: at concurrency 1 that code ends every process of its job user's uid when a job ends), ran next to this code's node after the runs above; after as many warm-up jobs on it as this code's node had run (${1 + SEQUENTIAL + BURST}, excluded), ${comparison.rounds} rounds each sent one job to each node, this code's first in even rounds and the baseline's first in odd ones, one job in flight at a time on either node, so that whatever else loaded the machine weighed on both alike (load average ${comparison.load[0].toFixed(1)} before the rounds, ${comparison.load[1].toFixed(1)} after). ` +
                "**overhead** as above, per job; both nodes reuse their cached environment. **this ÷ baseline** = this code's percentile ÷ the baseline's (below 1: this code is faster). " +
                `Paired by round: median of baseline − this ${pairedText(comparison.paired)}.`,
            },
          ]
        : []),
    ],
  };
} catch (e) {
  problems.push(`driver failed: ${(e as Error).message}`);
} finally {
  await cleanUp();
}

if (section && problems.length === 0) {
  emitBenchSection(section);
  if (KEEP_LOG) say(`node log: ${logFile}`);
  else rmSync(logFile, { force: true });
  process.exit(0);
}
// Printed only: numbers of a failed run do not go into the report.
if (section) process.stdout.write(`\n${sectionMarkdown(section)}\n`);
process.stderr.write(`pipeline benchmark failed:\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
process.stderr.write(`node log: ${logFile}\n`);
process.exit(1);
