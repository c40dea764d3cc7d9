// The naive flow the pipeline benchmark compares against: the original worker, one job at a time, with
// nothing kept between jobs. For each SQS message it downloads the job's files from S3, creates a fresh
// virtualenv (`python3 -m venv`, which also installs pip into it), installs the requirements with that
// pip, runs the entry point, uploads output/ to S3, POSTs the notification and deletes the message.
//
// naiveSteps() is the pure plan of one job; runNaiveWorker() carries plans out against S3/SQS.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  inputTargetPath,
  type JobMessage,
  JobMessageV1,
  type Notification,
  notificationKey,
  parseS3Uri,
} from '@edgefleet/contracts';

export type NaiveStep =
  | { kind: 'download'; bucket: string; key: string; target: string }
  | { kind: 'exec'; what: 'venv' | 'install' | 'run'; argv: string[]; cwd: string }
  | { kind: 'upload'; from: string; bucket: string; prefix: string }
  | { kind: 'notify'; webhook: string };

export interface NaiveDirs {
  /** The job's own folder (workspace, venv and output below it), removed after the job. */
  jobDir: string;
  /** The Python that creates the venv. */
  python: string;
}

/** The job's folder layout: `<jobDir>/{work,venv,output}`. */
export const naiveLayout = (jobDir: string) => ({
  work: join(jobDir, 'work'),
  venv: join(jobDir, 'venv'),
  output: join(jobDir, 'output'),
});

/** The steps of one job, in order (inputs must be S3 objects, not prefixes). */
export function naiveSteps(message: JobMessage, dirs: NaiveDirs): NaiveStep[] {
  const at = naiveLayout(dirs.jobDir);
  const steps: NaiveStep[] = [];
  for (const input of message.inputs) {
    const loc = parseS3Uri(input.uri);
    if (!loc.ok || input.uri.endsWith('/'))
      throw new Error(`the naive worker takes S3 objects only, not ${input.uri}`);
    steps.push({
      kind: 'download',
      bucket: loc.value.bucket,
      key: loc.value.key,
      target: join(at.work, inputTargetPath(input)),
    });
  }
  steps.push({ kind: 'exec', what: 'venv', argv: [dirs.python, '-m', 'venv', at.venv], cwd: dirs.jobDir });
  if (message.code.requirements)
    steps.push({
      kind: 'exec',
      what: 'install',
      argv: [
        join(at.venv, 'bin', 'pip'),
        'install',
        '--no-index',
        '--disable-pip-version-check',
        '--quiet',
        '-r',
        message.code.requirements,
      ],
      cwd: at.work,
    });
  steps.push({
    kind: 'exec',
    what: 'run',
    argv: [join(at.venv, 'bin', 'python'), message.code.entrypoint, ...message.code.args],
    cwd: at.work,
  });
  const out = parseS3Uri(message.output.uri);
  if (!out.ok) throw new Error(`bad output URI ${message.output.uri}`);
  steps.push({
    kind: 'upload',
    from: at.output,
    bucket: out.value.bucket,
    prefix: `${out.value.key}${message.jobId}/output/`,
  });
  if (message.notify.webhook) steps.push({ kind: 'notify', webhook: message.notify.webhook });
  return steps;
}

function listFilesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

/** Runs argv to its end; resolves to its wall time in ms; rejects on a non-zero exit. */
function exec(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      if (stderr.length < 4000) stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${argv.join(' ')} exited ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

export interface NaiveWorkerOptions {
  sqs: SQSClient;
  s3: S3Client;
  queueUrl: string;
  /** Job folders are made below it. */
  workRoot: string;
  python: string;
  /** Environment of every step (PATH, HOME, PIP_CACHE_DIR…). */
  env: NodeJS.ProcessEnv;
  /** Called when a message has been received, before its first step (ms since the epoch). */
  onReceived(jobId: string, at: number): void;
  onError(jobId: string, error: Error): void;
}

export interface NaiveWorker {
  /** Stops after the job in hand (the long poll is aborted at once). */
  stop(): Promise<void>;
}

export function runNaiveWorker(o: NaiveWorkerOptions): NaiveWorker {
  const abort = new AbortController();
  const handle = async (m: Message) => {
    const message = JobMessageV1.parse(JSON.parse(m.Body ?? ''));
    const jobDir = join(o.workRoot, message.jobId);
    const at = naiveLayout(jobDir);
    mkdirSync(at.output, { recursive: true });
    const jobEnv = {
      ...o.env,
      ...message.env,
      EDGEFLEET_JOB_ID: message.jobId,
      EDGEFLEET_OUTPUT_DIR: at.output,
    };
    let runMs = 0;
    try {
      for (const step of naiveSteps(message, { jobDir, python: o.python })) {
        switch (step.kind) {
          case 'download': {
            const got = await o.s3.send(new GetObjectCommand({ Bucket: step.bucket, Key: step.key }));
            mkdirSync(dirname(step.target), { recursive: true });
            writeFileSync(step.target, await (got.Body?.transformToByteArray() ?? new Uint8Array()));
            break;
          }
          case 'exec': {
            const ms = await exec(step.argv, step.cwd, jobEnv);
            if (step.what === 'run') runMs = ms;
            break;
          }
          case 'upload':
            for (const f of listFilesBelow(step.from))
              await o.s3.send(
                new PutObjectCommand({
                  Bucket: step.bucket,
                  Key: `${step.prefix}${f}`,
                  Body: readFileSync(join(step.from, f)),
                }),
              );
            break;
          case 'notify': {
            const body: Notification = {
              version: 1,
              kind: 'job-status',
              event: 'terminal',
              jobId: message.jobId,
              state: 'SUCCEEDED',
              exitCode: 0,
              node: 'naive-worker',
              attempt: 1,
              timings: { runMs },
              idempotencyKey: notificationKey(message.jobId, 'SUCCEEDED'),
              at: Date.now(),
            };
            const r = await fetch(step.webhook, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            if (!r.ok) throw new Error(`webhook answered ${r.status}`);
            break;
          }
        }
      }
    } finally {
      rmSync(jobDir, { recursive: true, force: true });
    }
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      let messages: Message[] = [];
      try {
        const r = await o.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: o.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 20 }),
          { abortSignal: abort.signal },
        );
        messages = r.Messages ?? [];
      } catch (e) {
        if (abort.signal.aborted) return;
        throw e;
      }
      for (const m of messages) {
        let jobId = '?';
        try {
          jobId = String((JSON.parse(m.Body ?? '{}') as { jobId?: unknown }).jobId);
        } catch {
          // reported below
        }
        o.onReceived(jobId, Date.now());
        try {
          await handle(m);
          await o.sqs.send(
            new DeleteMessageCommand({ QueueUrl: o.queueUrl, ReceiptHandle: m.ReceiptHandle }),
          );
        } catch (e) {
          o.onError(jobId, e as Error);
        }
      }
    }
  })().catch((e: Error) => o.onError('(receive)', e));
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
