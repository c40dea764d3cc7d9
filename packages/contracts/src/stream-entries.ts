// Entries of the `jobs`, `results` and `dead` streams, and how they sit in a stream entry's fields.
//
// Every entry is stored as two fields: `jobId` (so an operator can read a stream with redis-cli) and
// `data`, the JSON of the typed entry. `decodeEntry` validates both; a failure is a value with the
// reason, which the consumer dead-letters as MALFORMED_ENTRY.
import { z } from 'zod';
import { JobId, JobMessageV1 } from './job-message.js';
import { JobState, ReasonCode, TerminalState } from './job-state.js';

export const JobsEntry = z.object({
  jobId: JobId,
  message: JobMessageV1,
  /** ms since the epoch when the receiver accepted the job. */
  receivedAt: z.number().int(),
  source: z.enum(['sqs', 'http', 'replay']),
  sqsMessageId: z.string().optional(),
});
export type JobsEntry = z.infer<typeof JobsEntry>;

/** Milliseconds spent in each phase of a job, as measured by the service that ran it. */
export const PhaseTimings = z
  .object({
    queuedMs: z.number().nonnegative(),
    downloadMs: z.number().nonnegative(),
    installMs: z.number().nonnegative(),
    runMs: z.number().nonnegative(),
  })
  .partial();
export type PhaseTimings = z.infer<typeof PhaseTimings>;

export const ResultFile = z.object({
  /** Path relative to the job folder, e.g. `output/plots/a.png` or `logs/stdout.log`. */
  path: z.string(),
  size: z.number().int().nonnegative(),
});

/**
 * What the uploader must do. `terminal` entries carry the outcome the uploader records after it has
 * uploaded the files (`hasFiles`), or, for jobs that ended without the executor (REJECTED, CANCELED while
 * queued, dead-lettered), a record that is already terminal and nothing to upload. `running` entries
 * ask for the optional RUNNING notification.
 */
export const ResultsEntry = z.object({
  jobId: JobId,
  event: z.enum(['terminal', 'running']),
  state: z.union([TerminalState, z.literal('RUNNING')]),
  reason: ReasonCode.optional(),
  detail: z.string().max(4096).optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().optional(),
  /** True when the job folder holds output/ and logs/ to upload. */
  hasFiles: z.boolean(),
  /** Absolute path of the job folder on this device (when hasFiles). */
  jobDir: z.string().optional(),
  attempt: z.number().int().min(0).default(0),
  node: z.string().optional(),
  timings: PhaseTimings.default({}),
  /** ms since the epoch when the entry was written. */
  at: z.number().int(),
});
export type ResultsEntry = z.infer<typeof ResultsEntry>;

export const DeadEntry = z.object({
  /** The stream and entry id the entry came from. */
  stream: z.string(),
  entryId: z.string(),
  group: z.string(),
  jobId: z.string().optional(),
  reason: ReasonCode,
  detail: z.string().max(4096),
  deliveries: z.number().int().min(0),
  /** The original fields, verbatim, so the entry can be replayed. */
  fields: z.record(z.string(), z.string()),
  at: z.number().int(),
});
export type DeadEntry = z.infer<typeof DeadEntry>;

export const ControlMessage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cancel'), jobId: JobId, at: z.number().int() }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;

/** The device's load, written by the executor (hash fields as decimal strings). */
export const DeviceLoad = z.object({
  running: z.coerce.number().int().min(0),
  queued: z.coerce.number().int().min(0),
  freeDiskBytes: z.coerce.number().min(0),
  updatedAt: z.coerce.number().int(),
});
export type DeviceLoad = z.infer<typeof DeviceLoad>;

/** Stream fields for a typed entry: `['jobId', id, 'data', json]`. */
export function encodeEntry(entry: { jobId?: string }): string[] {
  return ['jobId', entry.jobId ?? '', 'data', JSON.stringify(entry)];
}

/** Stream fields (as ioredis returns them, a flat list) → a record. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; detail: string; jobId?: string };

/** Validates a stream entry's fields against a schema. Never throws. */
export function decodeEntry<S extends z.ZodType>(schema: S, fields: readonly string[]): Decoded<z.infer<S>> {
  const rec = fieldsToRecord(fields);
  const jobId = JobId.safeParse(rec.jobId).success ? rec.jobId : undefined;
  const fail = (detail: string): Decoded<z.infer<S>> =>
    jobId ? { ok: false, detail, jobId } : { ok: false, detail };
  if (rec.data === undefined) return fail('entry has no data field');
  let json: unknown;
  try {
    json = JSON.parse(rec.data);
  } catch (e) {
    return fail(`data is not JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    return fail(
      parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; '),
    );
  return { ok: true, value: parsed.data };
}

export { JobState };
