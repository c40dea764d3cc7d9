// The job record: the device's single source of truth about one job, kept in Redis as a hash plus a
// history list (see names.ts). The record's existence is the "seen" marker for deduplication; every
// change of `state` goes through service-kit's transition script.
import { z } from 'zod';
import { JobId, JobMessageV1 } from './job-message.js';
import { JobState, ReasonCode } from './job-state.js';

export const HistoryEntry = z.object({
  state: JobState,
  /** Milliseconds since the epoch, from the writer's clock. */
  at: z.number().int(),
  reason: ReasonCode.optional(),
  detail: z.string().optional(),
  /** Which service made the move (job-receiver, job-executor…). */
  by: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const NOTIFY_STATUSES = ['none', 'pending', 'delivered', 'undelivered'] as const;
export const NotifyStatus = z.enum(NOTIFY_STATUSES);
export type NotifyStatus = z.infer<typeof NotifyStatus>;

export const JobRecord = z.object({
  jobId: JobId,
  state: JobState,
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  reason: ReasonCode.optional(),
  detail: z.string().optional(),
  /** Executions started (incremented on each entry into DOWNLOADING). */
  attempt: z.number().int().min(0).default(0),
  cancelRequested: z.boolean().default(false),
  /** Since when (ms since the epoch) the job waits out an outage (S3, webhook); absent when it does not. */
  waitingSince: z.number().int().optional(),
  /** The node that holds the job. */
  node: z.string().optional(),
  /** How the job arrived: sqs, http, replay. */
  source: z.string().optional(),
  /** The job message, absent for records created by a cancel that arrived first. */
  message: JobMessageV1.optional(),
  exitCode: z.number().int().nullable().optional(),
  /** Where the result was uploaded (`s3://bucket/prefix/<jobId>/`). */
  resultUri: z.string().optional(),
  /** Notification status, kept apart from the job's state. */
  notifyStatus: NotifyStatus.default('none'),
  notifyDetail: z.string().optional(),
  history: z.array(HistoryEntry).default([]),
});
export type JobRecord = z.infer<typeof JobRecord>;

/**
 * Record field: when the executor handed the attempt's result to the uploader (ms since the epoch), so
 * a duplicate `jobs` entry is acknowledged rather than run again. Needed only until the job is
 * terminal: the uploader's final transition removes it (a finished record keeps what the API shows).
 */
export const EXECUTOR_HANDED_OFF_FIELD = 'executorHandedOffAt';

/**
 * Fields of the record hash that are not plain strings, and how they are stored: numbers as decimal
 * strings, booleans as '1'/'0', objects as JSON. Everything else is a plain string.
 */
const NUMERIC = new Set(['createdAt', 'updatedAt', 'attempt', 'waitingSince']);
const BOOLEAN = new Set(['cancelRequested']);
const JSON_FIELDS = new Set(['message']);

/** Decodes HGETALL output plus the history list into a validated record. */
export function decodeJobRecord(
  hash: Record<string, string>,
  history: string[],
): { ok: true; record: JobRecord } | { ok: false; error: string } {
  const obj: Record<string, unknown> = {};
  try {
    for (const [k, v] of Object.entries(hash)) {
      if (NUMERIC.has(k)) obj[k] = Number(v);
      else if (BOOLEAN.has(k)) obj[k] = v === '1';
      else if (JSON_FIELDS.has(k)) obj[k] = JSON.parse(v);
      else if (k === 'exitCode') obj[k] = v === '' ? null : Number(v);
      else obj[k] = v;
    }
    obj.history = history.map((h) => JSON.parse(h));
  } catch (e) {
    return { ok: false, error: `undecodable record: ${(e as Error).message}` };
  }
  const parsed = JobRecord.safeParse(obj);
  return parsed.success ? { ok: true, record: parsed.data } : { ok: false, error: parsed.error.message };
}
