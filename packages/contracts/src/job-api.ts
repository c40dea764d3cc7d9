// The node's job API (job-receiver, `/v1/jobs`): its requests, responses, log-follow events and error
// body. The receiver validates with these and its OpenAPI description (services/job-receiver/
// openapi.json) is generated from them; the CLI and the dashboard read the same types.
//   POST /v1/jobs               body JobSubmitBody (raw: the same bytes as an SQS message) → JobSubmitResponse
//   GET  /v1/jobs               query JobListQuery → JobList
//   GET  /v1/jobs/:id           → JobRecord (job-record.ts)
//   POST /v1/jobs/:id/cancel    body JobCancelBody (optional) → JobSubmitResponse
//   GET  /v1/jobs/:id/logs      query JobLogsQuery → LogTailResponse, or with follow server-sent events:
//                               `chunk` (id = tail entry id, data LogFollowChunk) until the job is
//                               terminal, then one `end` (data LogFollowEnd); `error` (data ApiError)
//                               when Redis fails mid-follow.
// Every failure answers ErrorResponse (service-kit's errorBody).
import { z } from 'zod';
import { CancelMessageV1, JobId, JobMessageV1 } from './job-message.js';
import { JobState, ReasonCode } from './job-state.js';
import { LogStreamName } from './log-tail.js';

/** What went wrong: a stable code (SCREAMING_SNAKE) and a human message. */
export const ApiError = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof ApiError>;

export const ErrorResponse = z.object({
  error: ApiError,
  jobId: z.string().optional(),
  state: JobState.optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

export const JobSubmitBody = z.union([JobMessageV1, CancelMessageV1]);

export const JOB_SUBMIT_OUTCOMES = [
  'queued',
  'duplicate',
  'rejected',
  'canceled',
  'cancel-requested',
  'already-terminal',
] as const;
export type JobSubmitOutcome = (typeof JOB_SUBMIT_OUTCOMES)[number];

export const JobSubmitResponse = z.object({
  jobId: JobId,
  outcome: z.enum(JOB_SUBMIT_OUTCOMES),
  /** The record's state after the request (null when unknown). */
  state: JobState.nullable(),
  reason: ReasonCode.optional(),
  detail: z.string().optional(),
});
export type JobSubmitResponse = z.infer<typeof JobSubmitResponse>;

export const JobListQuery = z
  .object({
    state: JobState.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(400).optional(),
  })
  .strict();

/** One job in a list: the record's headline fields, without the message and the history. */
export const JobSummary = z.object({
  jobId: JobId,
  state: JobState,
  /** ms since the epoch (the job index's score). */
  createdAt: z.number().int(),
  /** ms since the epoch. */
  updatedAt: z.number().int().optional(),
  reason: z.string().optional(),
  source: z.string().optional(),
  cancelRequested: z.boolean(),
});
export type JobSummary = z.infer<typeof JobSummary>;

/** Newest first; pass nextCursor as `cursor` for the next page. */
export const JobList = z.object({ jobs: z.array(JobSummary), nextCursor: z.string().optional() });
export type JobList = z.infer<typeof JobList>;

export const JobCancelBody = z.object({ reason: z.string().max(1024).optional() }).strict();

export const JobLogsQuery = z
  .object({
    follow: z.enum(['0', '1', 'true', 'false']).optional(),
    /** Resume after this tail entry id (also read from the Last-Event-ID header). */
    after: z
      .string()
      .regex(/^\d{1,20}-\d{1,20}$/)
      .optional(),
  })
  .strict();

/** One chunk of the tail, with its tail entry id. */
export const LogTailChunk = z.object({ id: z.string(), stream: LogStreamName, data: z.string() });
export type LogTailChunk = z.infer<typeof LogTailChunk>;

export const LogTailResponse = z.object({ jobId: JobId, state: JobState, chunks: z.array(LogTailChunk) });
export type LogTailResponse = z.infer<typeof LogTailResponse>;

/** Data of a follow's `chunk` event (its SSE id is the tail entry id). */
export const LogFollowChunk = z.object({ stream: LogStreamName, data: z.string() });
export type LogFollowChunk = z.infer<typeof LogFollowChunk>;

/** Data of a follow's `end` event: the job's state when it ended (null: the record is gone). */
export const LogFollowEnd = z.object({ state: JobState.nullable() });
export type LogFollowEnd = z.infer<typeof LogFollowEnd>;
