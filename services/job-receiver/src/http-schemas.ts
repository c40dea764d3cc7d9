// Schemas of the job API's requests and responses: the only source of the handlers' types and of the
// OpenAPI description (openapi.ts).
import {
  CancelMessageV1,
  JobId,
  JobMessageV1,
  JobRecord,
  JobState,
  LogStreamName,
  ReasonCode,
} from '@edgefleet/contracts';
import { z } from 'zod';

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
  jobId: z.string().optional(),
  state: JobState.optional(),
});

export const SubmitBody = z.union([JobMessageV1, CancelMessageV1]);

export const SUBMIT_OUTCOMES = [
  'queued',
  'duplicate',
  'rejected',
  'canceled',
  'cancel-requested',
  'already-terminal',
] as const;

export const SubmitResponse = z.object({
  jobId: JobId,
  outcome: z.enum(SUBMIT_OUTCOMES),
  /** The record's state after the request (null when unknown). */
  state: JobState.nullable(),
  reason: ReasonCode.optional(),
  detail: z.string().optional(),
});

export const JobParams = z.object({ id: JobId });

export const ListQuery = z
  .object({
    state: JobState.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(400).optional(),
  })
  .strict();

export const JobSummary = z.object({
  jobId: JobId,
  state: JobState,
  createdAt: z.number().int(),
  updatedAt: z.number().int().optional(),
  reason: z.string().optional(),
  source: z.string().optional(),
  cancelRequested: z.boolean(),
});

export const JobList = z.object({ jobs: z.array(JobSummary), nextCursor: z.string().optional() });

export const JobRecordResponse = JobRecord;

export const CancelBody = z.object({ reason: z.string().max(1024).optional() }).strict();

export const LogsQuery = z
  .object({
    follow: z.enum(['0', '1', 'true', 'false']).optional(),
    /** Resume after this tail entry id (also read from the Last-Event-ID header). */
    after: z
      .string()
      .regex(/^\d{1,20}-\d{1,20}$/)
      .optional(),
  })
  .strict();

export const TailChunkSchema = z.object({ id: z.string(), stream: LogStreamName, data: z.string() });

export const LogTailResponse = z.object({ jobId: JobId, state: JobState, chunks: z.array(TailChunkSchema) });
