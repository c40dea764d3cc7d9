// Writes objects to S3: files streamed from disk (multipart above the part size, through lib-storage's
// Upload, so memory stays near partConcurrency × partSize whatever the file's size), hashed (sha256)
// in the same pass, and small JSON documents. Short blips are the SDK's own retry strategy's business
// (configured on the client: EDGEFLEET_UPLOAD_MAX_ATTEMPTS per request, so a failed part is retried
// before the whole file is); longer outages are waited out per job by the processor (wait-out-outage).
// Failures come back as values with a reason code (core/classify.ts), never as throws.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorFields } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { classifyS3Error, type UploadFailure } from '../core/classify.js';
import type { UploaderMetrics } from '../metrics.js';
import { openListedFile } from './open-listed.js';

export interface S3WriterOptions {
  client: S3Client;
  partSizeBytes: number;
  /** Parts of one file in flight at once. */
  partConcurrency: number;
  logger: Logger;
  metrics?: Pick<UploaderMetrics, 'uploadedBytes'>;
}

export type WriteResult<T> = ({ ok: true } & T) | { ok: false; failure: UploadFailure };

export interface FileTarget {
  abs: string;
  bucket: string;
  key: string;
  contentType: string;
}

export class S3Writer {
  constructor(private readonly o: S3WriterOptions) {}

  /** Files at least this large go multipart. */
  get partSizeBytes(): number {
    return this.o.partSizeBytes;
  }

  /** Uploads one file; resolves with its size and sha256 as uploaded. */
  async uploadFile(
    t: FileTarget,
    signal: AbortSignal,
  ): Promise<WriteResult<{ size: number; sha256: string }>> {
    return this.asResult(`s3://${t.bucket}/${t.key}`, signal, async () => {
      const r = await this.streamOnce(t, signal);
      this.o.metrics?.uploadedBytes.inc({ kind: 'file' }, r.size);
      return r;
    });
  }

  /** Writes a small document (the manifest). */
  async putJson(
    bucket: string,
    key: string,
    body: string,
    signal: AbortSignal,
  ): Promise<WriteResult<object>> {
    return this.asResult(`s3://${bucket}/${key}`, signal, async () => {
      await this.o.client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        { abortSignal: signal },
      );
      this.o.metrics?.uploadedBytes.inc({ kind: 'manifest' }, Buffer.byteLength(body));
      return {};
    });
  }

  /** One try (the SDK retries each request below it): a failure comes back classified, never thrown. */
  private async asResult<T extends object>(
    what: string,
    signal: AbortSignal,
    fn: () => Promise<T>,
  ): Promise<WriteResult<T>> {
    try {
      return { ok: true, ...(await fn()) };
    } catch (err) {
      const failure: UploadFailure = signal.aborted
        ? { code: 'UPLOAD_FAILED', retryable: true, detail: 'interrupted' }
        : classifyS3Error(err);
      this.o.logger.warn(
        { object: what, code: failure.code, retryable: failure.retryable, err: errorFields(err) },
        'upload failed',
      );
      return { ok: false, failure };
    }
  }

  private async streamOnce(t: FileTarget, signal: AbortSignal): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    let size = 0;
    // output/ is the job user's: open only the file that was listed, never one a link swapped in.
    const source = (await openListedFile(t.abs)).createReadStream();
    const body = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    source.on('error', (err) => body.destroy(err));
    source.pipe(body);
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let readError: Error | undefined;
    body.on('error', (err) => {
      readError = err;
    });
    const upload = new Upload({
      client: withAbort(this.o.client, abort.signal),
      params: { Bucket: t.bucket, Key: t.key, Body: body, ContentType: t.contentType },
      partSize: this.o.partSizeBytes,
      queueSize: this.o.partConcurrency,
      leavePartsOnError: false,
      abortController: abort,
    });
    try {
      await upload.done();
    } finally {
      signal.removeEventListener('abort', onAbort);
      source.destroy();
    }
    if (readError) throw readError;
    return { size, sha256: hash.digest('hex') };
  }
}

/**
 * lib-storage's Upload stops waiting when aborted but does not cancel the HTTP request in flight
 * (it calls `client.send` without a signal): give the data-carrying commands the signal, so a
 * shutdown really stops sending. Other commands (AbortMultipartUpload, the clean-up) run unsignalled.
 */
function withAbort(client: S3Client, signal: AbortSignal): S3Client {
  const send = client.send as (command: unknown, options?: object) => Promise<unknown>;
  return Object.create(client, {
    send: {
      value: (command: unknown, options?: object) =>
        send.call(
          client,
          command,
          command instanceof PutObjectCommand || command instanceof UploadPartCommand
            ? { ...options, abortSignal: signal }
            : options,
        ),
    },
  }) as S3Client;
}
