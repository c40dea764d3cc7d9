// The status notification result-uploader sends to the server: the body of a results-queue SQS message
// and of a webhook POST (signed: see webhook-signature.ts). One notification per (jobId, state): a
// retried or repeated delivery carries the same body and the same `idempotencyKey` (`<jobId>:<state>`),
// so a server that stores the key once ignores duplicates.
import { z } from 'zod';
import { JobId } from './job-message.js';
import { JobState, ReasonCode } from './job-state.js';
import { PhaseTimings } from './stream-entries.js';

export const NOTIFICATION_VERSION = 1;

export const NotificationV1 = z.object({
  version: z.literal(NOTIFICATION_VERSION),
  kind: z.literal('job-status'),
  /** `running` when the job starts (optional, see notify.onRunning), `terminal` when it ends. */
  event: z.enum(['running', 'terminal']),
  jobId: JobId,
  /** RUNNING or a terminal state. */
  state: JobState,
  reason: ReasonCode.optional(),
  detail: z.string().max(4096).optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().optional(),
  /** The node holding the job: send a cancel to this node's own queue. */
  node: z.string(),
  attempt: z.number().int().min(0),
  timings: PhaseTimings.extend({ uploadMs: z.number().nonnegative().optional() }),
  /** `s3://bucket/prefix/<jobId>/` when files were uploaded. */
  resultUri: z.string().optional(),
  /** `s3://bucket/prefix/<jobId>/manifest.json` when files were uploaded. */
  manifestUri: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** `<jobId>:<state>`: equal for every delivery of this notification. */
  idempotencyKey: z.string(),
  /** ms since the epoch when the state was reached (stable across retries). */
  at: z.number().int(),
});
export type Notification = z.infer<typeof NotificationV1>;

/** The idempotency key of a notification: `<jobId>:<state>`. */
export const notificationKey = (jobId: string, state: string): string => `${jobId}:${state}`;
