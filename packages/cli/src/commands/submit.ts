// `edgefleet submit <folder|job.json>`: uploads a folder's files to S3 under `<jobId>/` and sends the
// job message; or sends a job.json as it is. With --wait, follows the job to its end.
import { randomBytes } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import {
  checkRelativePath,
  describeIssues,
  type JobMessageInput,
  JobMessageV1,
  parseS3Uri,
} from '@edgefleet/contracts';
import type { AwsTarget } from '../aws.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { progressBar } from '../progress.js';

export interface SubmitOptions {
  target: string;
  entry?: string;
  requirements?: string;
  jobId?: string;
  timeoutSeconds?: number;
  webhook?: string;
}

export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === '.git' || e.name === '__pycache__' || e.name === 'node_modules') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

const newJobId = () => `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;

/** Builds the message for a folder (pure apart from reading the folder listing). */
export function folderMessage(
  folder: string,
  files: string[],
  opts: SubmitOptions,
  bucket: string,
  resultsUri: string,
  jobId: string,
): JobMessageInput {
  const entry = opts.entry ?? 'main.py';
  if (!files.includes(entry)) throw usageError(`entry script ${entry} not found in ${folder}`);
  const requirements =
    opts.requirements ?? (files.includes('requirements.txt') ? 'requirements.txt' : undefined);
  if (requirements && !files.includes(requirements))
    throw usageError(`requirements file ${requirements} not found in ${folder}`);
  if (files.length > 1000) throw usageError(`${folder} has ${files.length} files; at most 1000 per job`);
  for (const f of files) {
    const problem = checkRelativePath(f);
    if (problem) throw usageError(`cannot submit ${f}: ${problem}`);
  }
  return {
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: entry, ...(requirements ? { requirements } : {}) },
    inputs: files.map((f) => ({
      uri: `s3://${bucket}/${jobId}/${f}`,
      ...(f.includes('/') ? { path: f } : {}),
    })),
    output: { uri: resultsUri },
    ...(opts.timeoutSeconds ? { limits: { timeoutSeconds: opts.timeoutSeconds } } : {}),
    ...(opts.webhook ? { notify: { webhook: opts.webhook } } : {}),
  };
}

export async function submit(
  aws: AwsTarget,
  opts: SubmitOptions,
  log: (line: string) => void,
): Promise<{ jobId: string; message: JobMessageInput }> {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(opts.target);
  } catch {
    throw usageError(`${opts.target}: no such folder or file`);
  }
  let message: JobMessageInput;
  if (stat.isDirectory()) {
    const files = listFiles(opts.target);
    const jobId = opts.jobId ?? newJobId();
    message = folderMessage(opts.target, files, opts, aws.jobsBucket, aws.resultsUri, jobId);
    const sizes = files.map((f) => statSync(join(opts.target, f)).size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const bar = progressBar(total);
    let done = 0;
    log(`uploading ${files.length} file(s) (${total} bytes) to s3://${aws.jobsBucket}/${jobId}/`);
    for (const [i, f] of files.entries()) {
      const up = new Upload({
        client: aws.s3,
        params: {
          Bucket: aws.jobsBucket,
          Key: `${jobId}/${f}`,
          Body: createReadStream(join(opts.target, f)),
        },
      });
      const base = done;
      up.on('httpUploadProgress', (p) => bar.update(base + (p.loaded ?? 0)));
      try {
        await up.done();
      } catch (e) {
        bar.end();
        throw new CliError(
          `upload of ${f} failed: ${(e as Error).name}: ${(e as Error).message}`,
          EXIT.unreachable,
        );
      }
      done += sizes[i] ?? 0;
      bar.update(done);
    }
    bar.end();
  } else {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(opts.target, 'utf8'));
    } catch (e) {
      throw usageError(`${basename(opts.target)} is not valid JSON: ${(e as Error).message}`);
    }
    const parsed = JobMessageV1.safeParse(json);
    if (!parsed.success)
      throw usageError(
        `${basename(opts.target)} is not a valid job message: ${describeIssues(parsed.error)}`,
      );
    // Options given on the command line override the file's values.
    const fromFile = json as JobMessageInput;
    message = {
      ...fromFile,
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      ...(opts.timeoutSeconds ? { limits: { ...fromFile.limits, timeoutSeconds: opts.timeoutSeconds } } : {}),
      ...(opts.webhook ? { notify: { ...fromFile.notify, webhook: opts.webhook } } : {}),
    };
    const again = JobMessageV1.safeParse(message);
    if (!again.success)
      throw usageError(`invalid options for ${basename(opts.target)}: ${describeIssues(again.error)}`);
  }
  await aws.sqs
    .send(new SendMessageCommand({ QueueUrl: await aws.queueUrl(), MessageBody: JSON.stringify(message) }))
    .catch((e: Error) => {
      throw new CliError(`sending the job message failed: ${e.name}: ${e.message}`, EXIT.unreachable);
    });
  return { jobId: message.jobId, message };
}

/** Uploads every file below `folder` to `s3://bucket/prefix/<relative path>`. Returns the count. */
export async function uploadFolder(
  aws: AwsTarget,
  folder: string,
  prefixUri: string,
  log: (line: string) => void,
): Promise<number> {
  const loc = parseS3Uri(prefixUri.endsWith('/') ? prefixUri : `${prefixUri}/`);
  if (!loc.ok) throw usageError(`${prefixUri} is not an s3://bucket/prefix/ URI (${loc.problem})`);
  let files: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
    files = listFiles(folder);
  } catch {
    throw usageError(`${folder}: no such folder`);
  }
  for (const f of files) {
    const key = `${loc.value.key}${f}`;
    const up = new Upload({
      client: aws.s3,
      params: { Bucket: loc.value.bucket, Key: key, Body: createReadStream(join(folder, f)) },
    });
    await up.done().catch((e: Error) => {
      throw new CliError(`upload of ${f} failed: ${e.name}: ${e.message}`, EXIT.unreachable);
    });
    log(`s3://${loc.value.bucket}/${key}`);
  }
  return files.length;
}
