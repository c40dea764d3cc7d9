// Test harness for result-uploader: a job as the executor leaves it (record walked through
// transitionJob, job folder on disk, a ResultsEntry XADDed), a webhook server that records what it
// receives, and the service built in-process from an env map.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  decodeJobRecord,
  encodeEntry,
  type JobMessageInput,
  type JobRecord,
  type RedisNames,
  type ResultsEntry,
} from '@edgefleet/contracts';
import { createMetricsRegistry, type Redis, transitionJob } from '@edgefleet/service-kit';
import { logSink } from '@edgefleet/testkit';
import type { Registry } from 'prom-client';
import { loadConfig } from '../src/config.js';
import { createUploader, type UploaderHandle, type UploaderInternals } from '../src/uploader.js';

export const SECRET = 'test-webhook-secret-0123456789';

let seq = 0;
export const uniqueId = (prefix = 'job') =>
  `${prefix}-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`;

export function jobMessage(jobId: string, over: Partial<JobMessageInput> = {}): JobMessageInput {
  return {
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py' },
    inputs: [{ uri: 's3://inputs/code/main.py' }],
    output: { uri: 's3://results-bucket/runs/' },
    ...over,
  };
}

/** Creates the record as receiver and executor would: NEW→QUEUED→DOWNLOADING→INSTALLING→RUNNING. */
export async function createRunningJob(
  redis: Redis,
  names: RedisNames,
  jobId: string,
  message: JobMessageInput,
  until: 'QUEUED' | 'DOWNLOADING' | 'INSTALLING' | 'RUNNING' = 'RUNNING',
): Promise<void> {
  const steps = ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING'] as const;
  for (const to of steps) {
    const r = await transitionJob(redis, names, {
      jobId,
      to,
      by: to === 'QUEUED' ? 'job-receiver' : 'job-executor',
      now: Date.now(),
      ...(to === 'QUEUED' ? { set: { message: JSON.stringify(message), source: 'sqs' } } : {}),
      ...(to === 'DOWNLOADING' ? { incrAttempt: true } : {}),
    });
    if (!r.ok) throw new Error(`transition to ${to}: ${r.status}`);
    if (to === until) return;
  }
}

/** Writes files below the job folder: `{ 'output/a/b.txt': 'text' }`. */
export function writeJobFiles(jobDir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(jobDir, rel)), { recursive: true });
    writeFileSync(join(jobDir, rel), content);
  }
}

export function resultsEntry(jobId: string, over: Partial<ResultsEntry> = {}): ResultsEntry {
  return {
    jobId,
    event: 'terminal',
    state: 'SUCCEEDED',
    exitCode: 0,
    hasFiles: true,
    attempt: 1,
    node: 'jetson-7',
    timings: { queuedMs: 5, downloadMs: 120, installMs: 900, runMs: 4000 },
    at: Date.now(),
    ...over,
  };
}

export async function addResult(redis: Redis, names: RedisNames, entry: ResultsEntry): Promise<string> {
  return (await redis.xadd(names.resultsStream, '*', ...encodeEntry(entry))) as string;
}

export async function readRecord(
  redis: Redis,
  names: RedisNames,
  jobId: string,
): Promise<JobRecord | undefined> {
  const hash = await redis.hgetall(names.jobKey(jobId));
  if (Object.keys(hash).length === 0) return undefined;
  const d = decodeJobRecord(hash, await redis.lrange(names.historyKey(jobId), 0, -1));
  if (!d.ok) throw new Error(d.error);
  return d.record;
}

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface WebhookServer {
  url: string;
  /** Every request, answered or not. */
  received: ReceivedHook[];
  /** Requests answered 2xx. */
  delivered(): ReceivedHook[];
  /** Chooses the status of the next requests (default 200). */
  answer: (req: { headers: IncomingHttpHeaders; body: string }) => number;
  close(): Promise<void>;
}

export async function startWebhookServer(): Promise<WebhookServer> {
  const received: ReceivedHook[] = [];
  const hook: WebhookServer = {
    url: '',
    received,
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300),
    answer: () => 200,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = hook.answer({ headers: req.headers, body });
      received.push({ headers: req.headers, body, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/edgefleet`;
  return hook;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'edgefleet-uploader-'));
}

export interface ServiceUnderTest {
  handle: UploaderHandle;
  /** The parts tests drive directly (the sweep, the consumer's stats). */
  uploader: UploaderInternals;
  registry: Registry;
  logs: ReturnType<typeof logSink>;
  stop(): Promise<void>;
}

/**
 * The service in-process, built by its factory and configured from EDGEFLEET_* variables like the real
 * one (HTTP on a free loopback port). AWS settings are read by the SDK from process.env (set them
 * before calling).
 */
export async function startUploader(env: Record<string, string>): Promise<ServiceUnderTest> {
  const config = loadConfig({
    EDGEFLEET_PORT: '0',
    EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
    EDGEFLEET_NODE_NAME: 'jetson-7',
    EDGEFLEET_CLAIM_IDLE_MS: '300',
    EDGEFLEET_RETRY_BASE_MS: '20',
    EDGEFLEET_WEBHOOK_SECRET: SECRET,
    EDGEFLEET_WEBHOOK_ALLOW_HTTP: 'true',
    EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EDGEFLEET_NOTIFY_DEADLINE_MS: '5000',
    EDGEFLEET_LOG_LEVEL: 'debug',
    ...env,
  });
  const logs = logSink('debug');
  const registry = createMetricsRegistry('result-uploader');
  const handle = createUploader(config, { logger: logs.logger, registry, blockMs: 100 });
  await handle.start();
  return {
    handle,
    uploader: handle.internals,
    registry,
    logs,
    stop: async () => {
      if (!(await handle.stop(3000))) throw new Error('result-uploader did not stop cleanly');
    },
  };
}
