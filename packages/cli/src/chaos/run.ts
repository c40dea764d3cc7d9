// The chaos driver's I/O: runs a node in local mode (`edgefleet local`) against an S3/SQS emulator
// behind a fault proxy, submits short jobs with a webhook to a recording HTTP server, carries out the
// schedule from plan.ts (kill -9 of services found through <dataDir>/pids.json, Redis restarts and a
// power cut, S3 and webhook outages), waits with a deadline for the node to go quiet, and reports
// what every job ended as. The emulator and proxy come from the caller (the testkit's), so this
// module needs nothing beyond the CLI's own dependencies.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { GROUPS, redisNames } from '@edgefleet/contracts';
import { Redis } from 'ioredis';
import { submit } from '../commands/submit.js';
import { type LocalNodeProcess, readLocalPids, startLocalNodeProcess } from '../local/node-process.js';
import { startWebhookRecorder } from '../local/webhook-recorder.js';
import {
  type ChaosEvent,
  type ChaosPlanOptions,
  type ChaosService,
  type ChaosSummary,
  type ChaosVerdict,
  type JobObservation,
  judge,
  planChaos,
  TERMINAL,
} from './plan.js';

/** The parts of the testkit's emulator the driver uses. */
interface ChaosEmulator {
  endpoint: string;
  s3(): S3Client;
  sqs(): SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): string;
  createBucket(name: string): string;
  stop(): Promise<void>;
}

/** The parts of the testkit's fault proxy the driver uses. */
interface ChaosFaultProxy {
  url: string;
  addRule(spec: {
    match?: (req: { method: string; url: string; headers: IncomingHttpHeaders }) => boolean;
    action: { kind: 'error'; status: number };
  }): { readonly hits: number; remove(): void };
  close(): Promise<void>;
}

interface ChaosDeps {
  startEmulator(): Promise<ChaosEmulator>;
  startFaultProxy(target: string): Promise<ChaosFaultProxy>;
  freePort(): Promise<number>;
}

export interface ChaosRunOptions extends ChaosPlanOptions {
  deps: ChaosDeps;
  /** How long to wait, after the last scheduled event, for every job to end and every stream to drain. */
  quiesceTimeoutMs: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Where local mode's output goes (default: a file next to the data folder). */
  nodeLogFile?: string;
}

export interface ChaosResult extends ChaosSummary {
  /** Why the run is not clean (empty when it is): lost jobs, unexplained duplicates, pending entries… */
  problems: string[];
  nodeLogFile: string;
}

const JOBS_BUCKET = 'edgefleet-jobs';
const RESULTS_BUCKET = 'edgefleet-results';
const SECRET = 'chaos-webhook-secret-0123456789abcdef';

const JOB_MAIN = `import os, pathlib
pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"], "ok.txt").write_text(os.environ["EDGEFLEET_JOB_ID"])
`;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Polls `check` until it returns true or the deadline passes; returns whether it did. */
async function until(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet (Redis restarting…)
    }
    if (Date.now() >= deadline) return false;
    await delay(intervalMs);
  }
}

/** Sends `signal` to a live pid; false when there is no such process. */
function signalPid(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function runChaos(o: ChaosRunOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const plan = planChaos(o);
  const kills: Record<string, number> = {
    'job-receiver': 0,
    'job-executor': 0,
    'result-uploader': 0,
    'gossip-membership': 0,
  };
  const counts = {
    redisRestarts: 0,
    redisKills: 0,
    s3Outages: [] as number[],
    webhookOutages: [] as number[],
  };
  const problems: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const jobIds: string[] = [];

  const work = mkdtempSync(join(tmpdir(), 'edgefleet-chaos-'));
  // Job code runs as an unprivileged user that must reach the data folder below this one.
  chmodSync(work, 0o755);
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  const nodeLogFile = o.nodeLogFile ?? join(tmpdir(), `edgefleet-chaos-${o.seed}-${process.pid}.log`);
  writeFileSync(nodeLogFile, '');
  let node: LocalNodeProcess | undefined;
  let redis: Redis | undefined;
  let s3Faulted = () => 0;
  let webhookFaulted = () => 0;
  let pendingJobs = -1;
  let pendingResults = -1;
  let foldersLeft = -1;
  let verdict: ChaosVerdict = judge([]);

  try {
    const emu = await o.deps.startEmulator();
    cleanups.push(() => emu.stop());
    const queueUrl = emu.createQueue('edgefleet-jobs');
    emu.createBucket(JOBS_BUCKET);
    emu.createBucket(RESULTS_BUCKET);
    const proxy = await o.deps.startFaultProxy(emu.endpoint);
    cleanups.push(() => proxy.close());
    const hook = await startWebhookRecorder({ port: await o.deps.freePort() });
    cleanups.push(() => hook.close());
    webhookFaulted = () => hook.state.faulted;
    const s3Rules: { readonly hits: number }[] = [];
    s3Faulted = () => s3Rules.reduce((n, r) => n + r.hits, 0);

    node = await startLocalNodeProcess({
      dataDir,
      nodeName: 'chaos-node',
      logFile: nodeLogFile,
      freePort: o.deps.freePort,
      env: {
        EDGEFLEET_WEBHOOK_SECRET: SECRET,
        // Every S3 and SQS call of the services goes through the fault proxy.
        AWS_ENDPOINT_URL: proxy.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
        EDGEFLEET_QUEUE_URLS: queueUrl,
        EDGEFLEET_ALLOWED_BUCKETS: `${JOBS_BUCKET},${RESULTS_BUCKET}`,
        // Shorter than the defaults so that a killed receiver's messages and owed notifications come
        // back within the run's deadline.
        EDGEFLEET_SQS_WAIT_SECONDS: '5',
        EDGEFLEET_SQS_VISIBILITY_SECONDS: '10',
        EDGEFLEET_SWEEP_INTERVAL_MS: '5000',
      },
    });
    const redisPort = node.redisPort;
    log(`local mode up (redis on ${redisPort}, S3/SQS via ${proxy.url}); ${plan.length} events`);

    const jobDir = join(work, 'job');
    mkdirSync(jobDir);
    writeFileSync(join(jobDir, 'main.py'), JOB_MAIN);
    const s3 = emu.s3();
    const aws = {
      s3,
      sqs: emu.sqs(),
      queueUrl: async () => queueUrl,
      jobsBucket: JOBS_BUCKET,
      resultsUri: `s3://${RESULTS_BUCKET}/results/`,
      close() {},
    };
    redis = new Redis(node.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    const names = redisNames();

    const background: Promise<unknown>[] = [];
    const t0 = Date.now();
    const act = async (e: ChaosEvent) => {
      const at = `t+${((Date.now() - t0) / 1000).toFixed(1)}s`;
      switch (e.kind) {
        case 'submit': {
          const jobId = `chaos-${o.seed}-${String(e.index).padStart(4, '0')}`;
          jobIds.push(jobId);
          background.push(
            submit(aws, { target: jobDir, jobId, webhook: hook.url }, () => {}).catch((err: Error) => {
              problems.push(`submitting ${jobId} failed: ${err.message}`);
            }),
          );
          return;
        }
        case 'kill-service': {
          const service: ChaosService = e.service;
          if (signalPid(readLocalPids(dataDir)[service], 'SIGKILL')) {
            kills[service] = (kills[service] ?? 0) + 1;
            log(`${at} kill -9 ${service}`);
          } else log(`${at} ${service} not running (restarting); no kill`);
          return;
        }
        case 'restart-redis':
        case 'kill-redis': {
          const sig = e.kind === 'kill-redis' ? 'SIGKILL' : 'SIGTERM';
          const before = readLocalPids(dataDir)['redis-server'];
          if (!signalPid(before, sig)) {
            log(`${at} redis-server not running; no ${sig}`);
            return;
          }
          if (sig === 'SIGKILL') counts.redisKills++;
          else counts.redisRestarts++;
          log(`${at} redis-server ${sig === 'SIGKILL' ? 'kill -9 (power cut)' : 'restart (SIGTERM)'}`);
          // Local mode starts a new redis-server: wait (bounded) for it, so outages never overlap.
          const back = await until(
            async () => {
              const pid = readLocalPids(dataDir)['redis-server'];
              return pid !== undefined && pid !== before && (await redis?.ping()) === 'PONG';
            },
            30_000,
            100,
          );
          if (!back) problems.push(`redis-server was not restarted within 30 s after ${sig}`);
          return;
        }
        case 's3-outage': {
          counts.s3Outages.push(e.durationMs);
          log(`${at} S3 answers 503 for ${e.durationMs} ms`);
          // SQS requests carry x-amz-target (JSON protocol); everything else is S3.
          const rule = proxy.addRule({
            match: (r) => r.headers['x-amz-target'] === undefined,
            action: { kind: 'error', status: 503 },
          });
          s3Rules.push(rule);
          background.push(delay(e.durationMs).then(() => rule.remove()));
          return;
        }
        case 'webhook-outage': {
          counts.webhookOutages.push(e.durationMs);
          log(`${at} webhook answers 503 for ${e.durationMs} ms`);
          hook.state.failing = true;
          background.push(
            delay(e.durationMs).then(() => {
              hook.state.failing = false;
            }),
          );
          return;
        }
      }
    };
    for (const e of plan) {
      await delay(t0 + e.atMs - Date.now());
      await act(e);
    }
    await Promise.all(background);
    hook.state.failing = false;
    log(`schedule done at t+${((Date.now() - t0) / 1000).toFixed(1)}s; waiting for quiescence`);

    const notified = () => new Set(hook.hooks.map((h) => h.jobId));
    // Job folders: the executor makes <dataDir>/jobs/<jobId>; the uploader deletes it once the outputs
    // are uploaded (EDGEFLEET_KEEP_JOB_DIR_SECONDS 0).
    const jobsDir = join(dataDir, 'jobs');
    const folders = () => (existsSync(jobsDir) ? readdirSync(jobsDir).length : 0);
    const pending = async (stream: string, group: string) =>
      Number(((await redis?.xpending(stream, group)) as [number, ...unknown[]] | undefined)?.[0] ?? -1);
    const quiet = await until(async () => {
      const seen = notified();
      if (!jobIds.every((id) => seen.has(id))) return false;
      const states = await Promise.all(jobIds.map((id) => redis?.hget(names.jobKey(id), 'state')));
      if (!states.every((s) => s !== undefined && s !== null && TERMINAL.has(s))) return false;
      pendingJobs = await pending(names.jobsStream, GROUPS.executor);
      pendingResults = await pending(names.resultsStream, GROUPS.uploader);
      foldersLeft = folders();
      return pendingJobs === 0 && pendingResults === 0 && foldersLeft === 0;
    }, o.quiesceTimeoutMs);
    if (!quiet) problems.push(`the node did not go quiet within ${o.quiesceTimeoutMs} ms`);
    try {
      pendingJobs = await pending(names.jobsStream, GROUPS.executor);
      pendingResults = await pending(names.resultsStream, GROUPS.uploader);
    } catch (e) {
      problems.push(`XPENDING failed: ${(e as Error).message}`);
    }
    foldersLeft = folders();

    const observations: JobObservation[] = [];
    for (const jobId of jobIds) {
      const [state, reason] = (await redis.hmget(names.jobKey(jobId), 'state', 'reason')).map(
        (x) => x ?? undefined,
      );
      const history = await redis.lrange(names.historyKey(jobId), 0, -1);
      const terminalEntries = history.filter((h) =>
        TERMINAL.has((JSON.parse(h) as { state: string }).state),
      ).length;
      let resultsComplete = false;
      if (state === 'SUCCEEDED') {
        const listed = await s3.send(
          new ListObjectsV2Command({ Bucket: RESULTS_BUCKET, Prefix: `results/${jobId}/` }),
        );
        const keys = new Set((listed.Contents ?? []).map((c) => c.Key));
        resultsComplete =
          keys.has(`results/${jobId}/manifest.json`) && keys.has(`results/${jobId}/output/ok.txt`);
      }
      observations.push({
        jobId,
        state,
        reason,
        terminalEntries,
        resultsComplete,
        notificationKeys: hook.hooks.filter((h) => h.jobId === jobId).map((h) => h.key),
      });
    }
    verdict = judge(observations);
    for (const id of verdict.lost) {
      const ob = observations.find((x) => x.jobId === id);
      problems.push(
        `lost: ${id} (state ${ob?.state ?? 'none'}, ${ob?.notificationKeys.length ?? 0} notifications, results ${ob?.resultsComplete ? 'complete' : 'missing'})`,
      );
    }
    // The plan makes no job fail on purpose: outages are waited out, killed services resume their work.
    for (const ob of observations)
      if (ob.state !== 'SUCCEEDED' && !verdict.lost.includes(ob.jobId))
        problems.push(`not SUCCEEDED: ${ob.jobId} (${ob.state}${ob.reason ? ` ${ob.reason}` : ''})`);
    for (const id of verdict.doubleTerminal) problems.push(`two terminal states: ${id}`);
    for (const id of verdict.unexplainedDuplicates) problems.push(`unexplained duplicate: ${id}`);
    if (pendingJobs !== 0 || pendingResults !== 0)
      problems.push(`pending entries left: jobs ${pendingJobs}, results ${pendingResults}`);
    if (foldersLeft !== 0) problems.push(`job folders left on disk: ${foldersLeft}`);
    const stray = notified();
    for (const id of jobIds) stray.delete(id);
    if (stray.size) problems.push(`notifications for unknown jobs: ${[...stray].join(', ')}`);
  } catch (e) {
    problems.push(`driver failed: ${(e as Error).message}`);
  } finally {
    redis?.disconnect();
    await node?.stop();
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // best effort
      }
    }
    rmSync(work, { recursive: true, force: true });
  }

  return {
    seed: o.seed,
    verdict,
    kills,
    ...counts,
    s3Faulted: s3Faulted(),
    webhookFaulted: webhookFaulted(),
    pendingJobs,
    pendingResults,
    foldersLeft,
    wallMs: Date.now() - started,
    problems,
    nodeLogFile,
  };
}
