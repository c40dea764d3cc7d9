// Inputs from S3 into the workspace: list (HEAD for objects, ListObjectsV2 with pagination for
// prefixes), then download the planned files in parallel with bounded memory.
//
// Each file is one GetObject whose Body is piped (with backpressure, so memory stays at a few stream
// buffers per file whatever the size) through a sha256/size meter into a new file opened
// O_CREAT|O_EXCL|O_NOFOLLOW in `.partial/`, then renamed to its target. At most `concurrency` files
// are in flight. The first permanent failure aborts the rest; after a transient one (an outage) the
// files in flight finish and no new one starts, so the next try resumes from what was verified. Buckets outside the allowlist are refused before
// any request. Every failure is a value with a reason code.
import { createHash, randomBytes } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type JobInput, parseS3Uri, type ReasonCode } from '@edgefleet/contracts';
import { isTransientError } from '@edgefleet/service-kit';
import type { ListedInput, PlanLimits, PlannedFile } from '../core/workspace-plan.js';
import { createExclusive, mkdirNoFollow } from './job-folder.js';

/** `transient`: S3 was unreachable or overloaded; the same request may succeed later (fetch-inputs.ts). */
export type DownloadFailure = { ok: false; code: ReasonCode; detail: string; transient?: boolean };

const fail = (code: ReasonCode, detail: string): DownloadFailure => ({ ok: false, code, detail });

function s3ErrorName(e: unknown): string {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (err?.$metadata?.httpStatusCode === 404)
    return err.name === 'NoSuchBucket' ? 'NoSuchBucket' : 'NotFound';
  return err?.name ?? err?.Code ?? 'Error';
}

function classify(e: unknown, what: string): DownloadFailure {
  const name = s3ErrorName(e);
  if (name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket')
    return fail('INPUT_NOT_FOUND', `${what}: ${name}`);
  if ((e as Error)?.name === 'AbortError') return fail('CANCELED_BY_REQUEST', `${what}: aborted`);
  const f = fail('DOWNLOAD_FAILED', `${what}: ${name}: ${(e as Error)?.message ?? String(e)}`.slice(0, 500));
  return isTransientError(e) ? { ...f, transient: true } : f;
}

/** Lists every input. Stops paging as soon as the file count is over the limit. */
export async function listInputs(
  s3: S3Client,
  inputs: readonly JobInput[],
  opts: { allowedBuckets: readonly string[]; limits: PlanLimits; signal?: AbortSignal },
): Promise<{ ok: true; inputs: ListedInput[] } | DownloadFailure> {
  const out: ListedInput[] = [];
  let count = 0;
  for (const [i, input] of inputs.entries()) {
    const loc = parseS3Uri(input.uri);
    if (!loc.ok) return fail('UNSAFE_PATH', `inputs[${i}] ${JSON.stringify(input.uri)}: ${loc.problem}`);
    const { bucket, key, isPrefix } = loc.value;
    if (!opts.allowedBuckets.includes(bucket))
      return fail('BUCKET_NOT_ALLOWED', `inputs[${i}] bucket ${bucket} is not in EDGEFLEET_ALLOWED_BUCKETS`);
    const li: ListedInput = { input, bucket, key, isPrefix, objects: [] };
    const abortSignal = opts.signal;
    try {
      if (!isPrefix) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
        li.objects.push({ key, size: head.ContentLength ?? 0 });
        count++;
      } else {
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: key,
              ContinuationToken: token,
              MaxKeys: 1000,
            }),
            { abortSignal },
          );
          for (const o of page.Contents ?? [])
            if (o.Key !== undefined) li.objects.push({ key: o.Key, size: o.Size ?? 0 });
          count += page.Contents?.length ?? 0;
          if (count > opts.limits.maxFiles)
            return fail('TOO_MANY_INPUTS', `more than ${opts.limits.maxFiles} input files`);
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      }
    } catch (e) {
      return classify(e, `inputs[${i}] ${input.uri}`);
    }
    out.push(li);
  }
  return { ok: true, inputs: out };
}

export interface DownloadOptions {
  workDir: string;
  partialDir: string;
  concurrency: number;
  signal?: AbortSignal;
  /** Bytes written so far (for tests and metrics). */
  onProgress?: (bytes: number) => void;
  /**
   * Targets already downloaded and verified (by an earlier try of this attempt): skipped. Each file
   * verified and renamed into place by this call is added.
   */
  done?: Set<string>;
}

/** Downloads every planned file. Resolves ok only when every file is in place and verified. */
export async function downloadFiles(
  s3: S3Client,
  files: readonly PlannedFile[],
  o: DownloadOptions,
): Promise<{ ok: true; bytes: number } | DownloadFailure> {
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let failure: DownloadFailure | undefined;
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (!failure && !inner.signal.aborted) {
      const f = files[next++];
      if (!f) return;
      if (o.done?.has(f.target)) continue;
      const r = await downloadOne(s3, f, o, inner.signal, (n) => {
        bytes += n;
        o.onProgress?.(bytes);
      });
      const first = failure as DownloadFailure | undefined;
      if (r.ok) o.done?.add(f.target);
      else if (!first || (first.transient && !r.transient)) {
        failure = r;
        // A permanent failure ends the job: stop the rest. After a transient one, files in flight
        // finish (and stay verified for the next try); no new file starts.
        if (!r.transient) inner.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, files.length) }, worker));
  o.signal?.removeEventListener('abort', onOuterAbort);
  if (o.signal?.aborted) return fail('CANCELED_BY_REQUEST', 'download aborted');
  return failure ?? { ok: true, bytes };
}

async function downloadOne(
  s3: S3Client,
  f: PlannedFile,
  o: DownloadOptions,
  signal: AbortSignal,
  progress: (n: number) => void,
): Promise<{ ok: true } | DownloadFailure> {
  const what = `s3://${f.bucket}/${f.key}`;
  const tmp = join(o.partialDir, `${randomBytes(8).toString('hex')}-${basename(f.target).slice(0, 64)}`);
  try {
    const dir = dirname(f.target);
    const destDir = dir === '.' ? o.workDir : await mkdirNoFollow(o.workDir, dir);
    const res = await s3.send(new GetObjectCommand({ Bucket: f.bucket, Key: f.key }), {
      abortSignal: signal,
    });
    const body = res.Body as Readable | undefined;
    if (!body) return fail('DOWNLOAD_FAILED', `${what}: empty response`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        // The object grew after it was listed: never write more than was planned (and limited).
        if (size > f.size)
          return cb(Object.assign(new Error('object larger than listed'), { code: 'SIZE_CHANGED' }));
        hash.update(chunk);
        progress(chunk.length);
        cb(null, chunk);
      },
    });
    const fh = await createExclusive(tmp);
    try {
      await pipeline(body, meter, fh.createWriteStream(), { signal });
    } finally {
      await fh.close().catch(() => undefined);
    }
    // Fewer bytes than listed: the connection ended early (an outage), worth another try.
    if (size !== f.size)
      return { ...fail('DOWNLOAD_FAILED', `${what}: got ${size} bytes, listed ${f.size}`), transient: true };
    if (f.sha256) {
      const got = hash.digest('hex');
      if (got !== f.sha256) return fail('CHECKSUM_MISMATCH', `${what}: sha256 ${got}, expected ${f.sha256}`);
    }
    await rename(tmp, join(destDir, basename(f.target)));
    return { ok: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC')
      return fail('DISK_FULL', `${what}: no space left on device`);
    if ((e as { code?: string }).code === 'SIZE_CHANGED')
      return fail('DOWNLOAD_FAILED', `${what}: object changed while downloading`);
    if ((e as { code?: string }).code === 'UNSAFE_PATH')
      return fail('UNSAFE_PATH', `${what}: ${(e as Error).message}`);
    return classify(e, what);
  }
}
