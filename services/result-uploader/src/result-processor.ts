// Handles one `results` entry, end to end. For a job with files:
//
//   record → UPLOADING (transitionJob; UPLOADING → UPLOADING after a crash) → upload output/ and logs/
//   (deterministic keys: a retry overwrites) → manifest.json last → notify (retried until a deadline)
//   → ONE transitionJob: terminal state + notifyStatus/notifyDetail + XACK of the entry.
//
// The entry is acknowledged only in that last atomic step, after the upload and the notification are
// durable: a crash anywhere before it leaves the entry pending, and the next delivery uploads again
// (same keys) and notifies again with the same idempotency key (`<jobId>:<state>`). A notification
// still undelivered at its deadline is recorded as such (notifyStatus 'undelivered', with the body kept
// on the record) and resent by the sweep; the job's state does not wait for the server.
//
// Entries without files (REJECTED, CANCELED while queued, dead-lettered) find their record already
// terminal: notify, record the notification status, acknowledge (one transitionJob, guard only).
// RUNNING entries are notified when asked for (best effort: a late RUNNING is worth little) and acked.
import { rm } from 'node:fs/promises';
import {
  allowedFrom,
  EXECUTOR_HANDED_OFF_FIELD,
  isTerminal,
  type JobMessage,
  type JobRecord,
  type ManifestFile,
  type RedisNames,
  type ResultsEntry,
} from '@edgefleet/contracts';
import {
  ack,
  acked,
  type BackoffPolicy,
  deadLetter,
  errorFields,
  type HandlerOutcome,
  recordWaiting,
  retry,
  type StreamEntry,
  transitionJob,
  WAITING_SINCE,
  waitOutOutage,
} from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { listJobFiles } from './adapters/job-files.js';
import { NOTIFY_FIELDS, readJobRecord } from './adapters/job-store.js';
import type { S3Writer } from './adapters/s3-writer.js';
import { sha256OfFile, UploadProgress } from './adapters/upload-progress.js';
import type { UploadFailure } from './core/classify.js';
import { contentTypeOf } from './core/content-type.js';
import {
  bucketAllowed,
  keyFits,
  manifestKey,
  objectKey,
  type ResultLocation,
  resultLocation,
  s3UriOf,
} from './core/keys.js';
import { buildManifest } from './core/manifest.js';
import { buildNotification, type NotifySettings, planNotification } from './core/notification.js';
import { finalOutcome } from './core/outcome.js';
import type { UploaderMetrics } from './metrics.js';
import type { DeliveryReport, NotificationDispatcher } from './notification-dispatcher.js';

export interface ProcessorOptions {
  redis: Redis;
  names: RedisNames;
  /** Consumer group and stream whose entries are acknowledged. */
  group: string;
  service: string;
  node: string;
  s3: S3Writer;
  dispatcher: NotificationDispatcher;
  notify: Omit<NotifySettings, 'canSign' | 'hasQueue'>;
  allowedBuckets: readonly string[];
  uploadConcurrency: number;
  notifyDeadlineMs: number;
  /** Deliveries after which a retryable upload failure becomes FAILED/UPLOAD_FAILED. */
  maxDeliveries: number;
  keepJobDirSeconds: number;
  /** Seconds an upload may go without progress while S3 fails transiently before UPLOAD_FAILED. */
  uploadOutageSeconds: number;
  /** Backoff while waiting out an outage (default service-kit's OUTAGE_BACKOFF). */
  outageBackoff?: BackoffPolicy;
  logger: Logger;
  metrics?: UploaderMetrics;
  now?: () => number;
  random?: () => number;
}

const NON_TERMINAL = ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING'] as const;
const HANDED_OVER = ['DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING'] as const;
/** A RUNNING notification is not worth holding the queue longer than this, in ms. */
const RUNNING_DEADLINE_MS = 10_000;

type UploadResult =
  | { ok: true; files: ManifestFile[]; location: ResultLocation; manifestUri: string; uploadMs: number }
  | { ok: false; failure: UploadFailure };

export class ResultProcessor {
  private readonly now: () => number;
  constructor(private readonly o: ProcessorOptions) {
    this.now = o.now ?? Date.now;
  }

  async handle(entry: StreamEntry<ResultsEntry>, signal: AbortSignal): Promise<HandlerOutcome> {
    const e = entry.value;
    const log = this.o.logger.child({ component: 'processor', jobId: e.jobId, entryId: entry.id });
    const read = await readJobRecord(this.o.redis, this.o.names, e.jobId);
    if (read.kind === 'corrupt') return deadLetter('INTERNAL_ERROR', `job record undecodable: ${read.error}`);
    const record = read.kind === 'found' ? read.record : undefined;
    if (e.event === 'running') return this.running(entry, record, signal, log);
    if (!e.hasFiles) return this.withoutFiles(entry, record, signal, log);
    return this.withFiles(entry, record, signal, log);
  }

  private settings(): NotifySettings {
    return { ...this.o.notify, canSign: this.o.dispatcher.canSign, hasQueue: this.o.dispatcher.hasQueue };
  }

  private async running(
    entry: StreamEntry<ResultsEntry>,
    record: JobRecord | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<HandlerOutcome> {
    const e = entry.value;
    if (!record || isTerminal(record.state)) {
      log.info({ state: record?.state ?? null }, 'RUNNING entry for a finished or unknown job: not notified');
      return ack();
    }
    const plan = planNotification('running', record.message, this.settings());
    if (!plan.wanted) return ack();
    const n = buildNotification(e, {
      state: 'RUNNING',
      node: e.node ?? record.node ?? this.o.node,
      labels: record.message?.labels,
    });
    const report = await this.o.dispatcher.deliver(
      n,
      JSON.stringify(n),
      plan,
      Math.min(this.o.notifyDeadlineMs, RUNNING_DEADLINE_MS),
      signal,
      log,
    );
    log.info({ status: report.status, detail: report.detail }, 'RUNNING notification');
    const r = await transitionJob(this.o.redis, this.o.names, {
      jobId: e.jobId,
      from: NON_TERMINAL,
      by: this.o.service,
      now: this.now(),
      set: { notifyDetail: `RUNNING: ${[...plan.notes, report.detail].join('; ')}`.slice(0, 4096) },
      xack: [this.ackOp(entry.id)],
    });
    return r.ok ? acked() : ack();
  }

  private async withoutFiles(
    entry: StreamEntry<ResultsEntry>,
    record: JobRecord | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<HandlerOutcome> {
    const e = entry.value;
    const state = e.state === 'RUNNING' ? 'FAILED' : e.state;
    if (record && record.state === state && record.notifyStatus === 'delivered') {
      log.info({ state }, 'already notified: acknowledged');
      return ack();
    }
    const plan = planNotification('terminal', record?.message, this.settings());
    const n = buildNotification(e, {
      state,
      reason: e.reason,
      detail: e.detail,
      node: e.node ?? record?.node ?? this.o.node,
      labels: record?.message?.labels,
    });
    const body = JSON.stringify(n);
    const report = await this.o.dispatcher.deliver(n, body, plan, this.o.notifyDeadlineMs, signal, log);
    if (signal.aborted && report.status === 'undelivered') return retry('interrupted by shutdown');
    this.o.metrics?.jobsFinished.inc({ state });
    log.info({ state, reason: e.reason, notifyStatus: report.status, detail: report.detail }, 'job notified');
    if (!record) return ack(); // expired or never recorded: nothing to write on
    const { set, unset } = this.notifyFields(body, plan.notes, report, plan.webhook);
    const common = {
      jobId: e.jobId,
      by: this.o.service,
      now: this.now(),
      set,
      unset,
      xack: [this.ackOp(entry.id)],
    };
    const r = isTerminal(record.state)
      ? await transitionJob(this.o.redis, this.o.names, { ...common, from: [record.state] })
      : await transitionJob(this.o.redis, this.o.names, {
          ...common,
          to: state,
          from: allowedFrom(state).filter((s) => s !== 'NEW'),
          ...(e.reason ? { reason: e.reason } : {}),
          ...(e.detail ? { detail: e.detail } : {}),
        });
    if (!r.ok) log.warn({ status: r.status, current: r.current }, 'could not record the notification status');
    return r.ok ? acked() : ack();
  }

  private async withFiles(
    entry: StreamEntry<ResultsEntry>,
    record: JobRecord | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<HandlerOutcome> {
    const e = entry.value;
    if (!record) return deadLetter('INTERNAL_ERROR', 'no job record for a results entry with files');
    if (isTerminal(record.state)) {
      log.info({ state: record.state }, 'job already terminal: nothing to upload');
      return ack();
    }
    const message = record.message;
    if (!message) return deadLetter('INTERNAL_ERROR', 'job record has no message (no output location)');
    const node = e.node ?? record.node ?? this.o.node;
    const up = await transitionJob(this.o.redis, this.o.names, {
      jobId: e.jobId,
      to: 'UPLOADING',
      from: HANDED_OVER,
      by: this.o.service,
      now: this.now(),
      // The notification is owed from now on (shown apart from the state until the final step).
      set: { node, notifyStatus: 'pending' },
    });
    if (!up.ok) {
      if (up.status === 'TERMINAL') return ack();
      return deadLetter(
        'MALFORMED_ENTRY',
        `record is ${up.current ?? 'missing'}, not a state that hands over files`,
      );
    }

    const started = this.now();
    // Outages are waited out here, for up to EDGEFLEET_UPLOAD_OUTAGE_SECONDS without progress (a file
    // uploaded); files uploaded by an earlier try, or before a restart, are not sent again.
    const progress = new UploadProgress(
      this.o.redis,
      this.o.names.uploadedKey(e.jobId),
      this.o.uploadOutageSeconds + 86_400,
    );
    const done = new Map<string, ManifestFile>();
    const waited = await waitOutOutage({
      budgetMs: this.o.uploadOutageSeconds * 1000,
      signal,
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.random ? { random: this.o.random } : {}),
      ...(this.o.outageBackoff ? { policy: this.o.outageBackoff } : {}),
      onWaiting: async (w) => {
        if (w) {
          this.o.metrics?.uploadRetries.inc();
          log.warn(
            { failures: w.failures, retryInMs: w.retryInMs, err: w.detail },
            'waiting out an S3 outage',
          );
        } else log.info('S3 outage over: uploading again');
        await recordWaiting(this.o.redis, this.o.names, e.jobId, 'UPLOADING', 'S3', w).catch((err) =>
          log.warn({ err: errorFields(err) }, 'could not show the wait on the record'),
        );
      },
      attempt: async (onProgress) => {
        const r = await this.upload(e, message, signal, log, { progress, done, onProgress });
        return r.ok ? r : { ...r, transient: r.failure.retryable, detail: r.failure.detail };
      },
    });
    const result: UploadResult =
      'exhausted' in waited
        ? {
            ok: false,
            failure: {
              code: 'UPLOAD_FAILED',
              retryable: false,
              detail: `S3 unreachable, EDGEFLEET_UPLOAD_OUTAGE_SECONDS=${this.o.uploadOutageSeconds} spent: ${waited.detail}`,
            },
          }
        : waited;
    const seconds = (this.now() - started) / 1000;
    if (!result.ok && result.failure.retryable) {
      if (signal.aborted) return retry('interrupted by shutdown');
      if (entry.deliveries < this.o.maxDeliveries) {
        this.o.metrics?.uploadDuration.observe({ outcome: 'retry' }, seconds);
        return retry(result.failure.detail);
      }
    }
    this.o.metrics?.uploadDuration.observe(
      { outcome: result.ok ? 'uploaded' : result.failure.code },
      seconds,
    );
    const outcome = finalOutcome(e, result.ok ? undefined : result.failure);

    const plan = planNotification('terminal', message, this.settings());
    const n = buildNotification(e, {
      state: outcome.state,
      reason: outcome.reason,
      detail: outcome.detail,
      node,
      labels: message.labels,
      ...(result.ok
        ? { resultUri: result.location.uri, manifestUri: result.manifestUri, uploadMs: result.uploadMs }
        : {}),
    });
    const body = JSON.stringify(n);
    const report = await this.o.dispatcher.deliver(n, body, plan, this.o.notifyDeadlineMs, signal, log);
    if (signal.aborted && report.status === 'undelivered') return retry('interrupted by shutdown');

    const { set, unset } = this.notifyFields(body, plan.notes, report, plan.webhook);
    if (e.exitCode !== undefined) set.exitCode = e.exitCode === null ? '' : String(e.exitCode);
    if (result.ok) set.resultUri = result.location.uri;
    const fin = await transitionJob(this.o.redis, this.o.names, {
      jobId: e.jobId,
      to: outcome.state,
      from: ['UPLOADING'],
      by: this.o.service,
      now: this.now(),
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      ...(outcome.detail ? { detail: outcome.detail } : {}),
      set,
      // What only the hand-over between the services needed goes with the job's end.
      unset: [...unset, WAITING_SINCE, EXECUTOR_HANDED_OFF_FIELD],
      xack: [this.ackOp(entry.id)],
    });
    await progress.clear().catch(() => undefined);
    if (!fin.ok) {
      log.warn({ status: fin.status, current: fin.current }, 'final transition refused; acknowledging');
      return ack();
    }
    this.o.metrics?.jobsFinished.inc({ state: outcome.state });
    log.info(
      {
        state: outcome.state,
        reason: outcome.reason,
        notifyStatus: report.status,
        notifyDetail: report.detail,
      },
      'job finished',
    );
    if (result.ok && this.o.keepJobDirSeconds === 0 && e.jobDir)
      await rm(e.jobDir, { recursive: true, force: true }).catch((err) =>
        log.warn({ err: errorFields(err) }, 'could not delete the job folder'),
      );
    return acked();
  }

  /** Uploads the job folder's output/ and logs/, then the manifest. */
  private async upload(
    e: ResultsEntry,
    message: JobMessage,
    signal: AbortSignal,
    log: Logger,
    resume: {
      progress: UploadProgress;
      /** Files uploaded (this delivery or, checked by sha256, a previous one): not sent again. */
      done: Map<string, ManifestFile>;
      onProgress: () => void;
    },
  ): Promise<UploadResult> {
    const loc = resultLocation(message.output.uri, e.jobId);
    if (!loc.ok)
      return { ok: false, failure: { code: 'UPLOAD_FAILED', retryable: false, detail: loc.detail } };
    const location = loc.value;
    if (!bucketAllowed(location.bucket, this.o.allowedBuckets))
      return {
        ok: false,
        failure: {
          code: 'OUTPUT_BUCKET_NOT_ALLOWED',
          retryable: false,
          detail: `bucket ${location.bucket} is not in EDGEFLEET_OUTPUT_BUCKETS`,
        },
      };
    const started = this.now();
    const { files, skipped } = await listJobFiles(e.jobDir as string);
    for (const f of files)
      if (!keyFits(objectKey(location, f.path))) {
        skipped.push({ path: f.path, why: 'UNSAFE_NAME' });
      }
    const fitting = files.filter((f) => keyFits(objectKey(location, f.path)));
    if (skipped.length) log.warn({ skipped }, 'files not uploaded');
    if (resume.done.size === 0) {
      // A previous delivery (before a restart) may have uploaded some: same key, size and content.
      const before = await resume.progress.load();
      for (const f of fitting) {
        const b = before.get(f.path);
        if (!b || b.key !== objectKey(location, f.path) || b.size !== f.size) continue;
        if ((await sha256OfFile(f.abs).catch(() => '')) === b.sha256) resume.done.set(f.path, b);
      }
      if (resume.done.size)
        log.info({ files: resume.done.size }, 'files uploaded before a restart: not sent again');
    }
    const todo = fitting.filter((f) => !resume.done.has(f.path));
    // Bounded concurrency and memory: small files (below the part size, each read into one buffer)
    // go `uploadConcurrency` at once; multipart files then go one at a time, each with its own
    // `partConcurrency` parts in flight. Peak buffers ≈ max(uploadConcurrency, partConcurrency) × part
    // size, whatever the number and size of the files. The first final failure stops the rest (their
    // in-flight requests are aborted).
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const uploaded: ManifestFile[] = fitting.flatMap((f) => resume.done.get(f.path) ?? []);
    let failure: UploadFailure | undefined;
    const pool = async (list: typeof todo, width: number) => {
      let next = 0;
      const worker = async () => {
        while (!failure && !both.aborted) {
          const f = list[next++];
          if (!f) return;
          const key = objectKey(location, f.path);
          const contentType = contentTypeOf(f.path);
          const r = await this.o.s3.uploadFile(
            { abs: f.abs, bucket: location.bucket, key, contentType },
            both,
          );
          if (!r.ok) {
            const first = failure as UploadFailure | undefined;
            if (!first || (first.retryable && !r.failure.retryable)) failure = r.failure;
            // A final failure stops the rest; after a transient one the files in flight finish.
            if (!r.failure.retryable) stop.abort();
            return;
          }
          const m: ManifestFile = { path: f.path, key, size: r.size, sha256: r.sha256, contentType };
          uploaded.push(m);
          resume.done.set(f.path, m);
          resume.onProgress();
          await resume.progress
            .add(m)
            .catch((err) => log.warn({ err: errorFields(err) }, 'could not record upload progress'));
        }
      };
      await Promise.all(Array.from({ length: Math.min(width, Math.max(1, list.length)) }, worker));
    };
    await pool(
      todo.filter((f) => f.size < this.o.s3.partSizeBytes),
      this.o.uploadConcurrency,
    );
    await pool(
      todo.filter((f) => f.size >= this.o.s3.partSizeBytes),
      1,
    );
    if (failure) return { ok: false, failure };
    if (signal.aborted)
      return {
        ok: false,
        failure: { code: 'UPLOAD_FAILED', retryable: true, detail: 'interrupted by shutdown' },
      };
    const uploadMs = this.now() - started;
    const manifest = buildManifest({
      entry: e,
      outcome: finalOutcome(e) as ReturnType<typeof finalOutcome>,
      node: e.node ?? this.o.node,
      location,
      files: uploaded,
      skipped,
      uploadMs,
      createdAt: this.now(),
      labels: message.labels,
    });
    const mKey = manifestKey(location);
    const put = await this.o.s3.putJson(
      location.bucket,
      mKey,
      `${JSON.stringify(manifest, null, 2)}\n`,
      signal,
    );
    if (!put.ok) return { ok: false, failure: put.failure };
    return { ok: true, files: uploaded, location, manifestUri: s3UriOf(location.bucket, mKey), uploadMs };
  }

  /** The record's notification fields for a report: status, detail and, when undelivered, what is owed. */
  private notifyFields(
    body: string,
    notes: string[],
    report: DeliveryReport,
    webhook: string | undefined,
  ): { set: Record<string, string>; unset: string[] } {
    const detail = [...notes, report.detail].join('; ').slice(0, 4096);
    const set: Record<string, string> = { notifyStatus: report.status, notifyDetail: detail };
    if (report.status !== 'undelivered') return { set, unset: Object.values(NOTIFY_FIELDS) };
    set[NOTIFY_FIELDS.payload] = body;
    set[NOTIFY_FIELDS.pending] = report.pending.join(',');
    set[NOTIFY_FIELDS.since] = String(this.now());
    if (webhook) set[NOTIFY_FIELDS.webhook] = webhook;
    return { set, unset: webhook ? [] : [NOTIFY_FIELDS.webhook] };
  }

  private ackOp(id: string) {
    return { stream: this.o.names.resultsStream, group: this.o.group, ids: [id] };
  }
}
