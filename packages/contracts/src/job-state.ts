// Job states, reason codes, and the allowed transitions between states.
//
// QUEUED → DOWNLOADING → INSTALLING → RUNNING → UPLOADING → SUCCEEDED | FAILED | TIMED_OUT | CANCELED,
// plus REJECTED for a message that can never run. Terminal states are final: the transition function
// (service-kit's Lua script) refuses to leave them. This table is the one place that says which moves
// exist; the script receives the allowed `from` set for each call from here.
import { z } from 'zod';

export const JOB_STATES = [
  'QUEUED',
  'DOWNLOADING',
  'INSTALLING',
  'RUNNING',
  'UPLOADING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'CANCELED',
  'REJECTED',
] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;

export const TERMINAL_STATES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED', 'REJECTED'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];
export const TerminalState = z.enum(TERMINAL_STATES);
export const isTerminal = (s: JobState): s is TerminalState =>
  (TERMINAL_STATES as readonly string[]).includes(s);

/** The record does not exist yet: used as a `from` for creating transitions. */
export const NEW = 'NEW' as const;
export type FromState = JobState | typeof NEW;

/**
 * Allowed moves. A state listed as its own successor (DOWNLOADING → DOWNLOADING) is a new attempt after
 * an executor crash: the job starts again from a clean workspace. The executor never writes a terminal
 * state for a job that has files to upload: it hands its outcome to the uploader in the `results`
 * entry, and the uploader records UPLOADING and then that outcome. Jobs that end without files
 * (REJECTED, CANCELED while queued, dead-lettered) go straight to their terminal state.
 */
export const TRANSITIONS: Readonly<Record<FromState, readonly JobState[]>> = {
  NEW: ['QUEUED', 'REJECTED', 'CANCELED'],
  QUEUED: ['DOWNLOADING', 'CANCELED', 'FAILED'],
  DOWNLOADING: ['DOWNLOADING', 'INSTALLING', 'UPLOADING', 'FAILED', 'CANCELED', 'TIMED_OUT'],
  INSTALLING: ['DOWNLOADING', 'RUNNING', 'UPLOADING', 'FAILED', 'CANCELED', 'TIMED_OUT'],
  RUNNING: ['DOWNLOADING', 'UPLOADING', 'FAILED', 'CANCELED', 'TIMED_OUT'],
  UPLOADING: ['UPLOADING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED'],
  SUCCEEDED: [],
  FAILED: [],
  TIMED_OUT: [],
  CANCELED: [],
  REJECTED: [],
};

/** The `from` states from which `to` may be entered. */
export function allowedFrom(to: JobState): FromState[] {
  return (Object.keys(TRANSITIONS) as FromState[]).filter((from) => TRANSITIONS[from].includes(to));
}

/**
 * Stable reason codes. A code never changes meaning; new codes are added at the end of a group.
 * Servers match on these, never on the human-readable detail.
 */
export const REASON_CODES = [
  // receiver: the message can never run (state REJECTED)
  'INVALID_JSON',
  'SCHEMA_INVALID',
  'UNKNOWN_VERSION',
  'UNSAFE_PATH',
  'BUCKET_NOT_ALLOWED',
  'WEBHOOK_NOT_ALLOWED',
  // The two signature codes name a refused body (HTTP 403, logs, metrics) and are never recorded on a
  // job: an unauthenticated body's jobId is not trusted (job-receiver src/core/intake.ts).
  'SIGNATURE_MISSING',
  'SIGNATURE_INVALID',
  'MESSAGE_TOO_LARGE',
  'GPU_UNAVAILABLE',
  // cancel
  'CANCELED_BY_REQUEST',
  // executor: inputs and workspace (FAILED)
  'INPUT_NOT_FOUND',
  'INPUT_COLLISION',
  'INPUT_TOO_LARGE',
  'TOO_MANY_INPUTS',
  'CHECKSUM_MISMATCH',
  'DISK_FULL',
  'DOWNLOAD_FAILED',
  'ENTRYPOINT_MISSING',
  // executor: environment (FAILED / TIMED_OUT)
  'INSTALL_FAILED',
  'INSTALL_TIMEOUT',
  // executor: the run
  'EXIT_NONZERO',
  'KILLED_BY_SIGNAL',
  'TIMEOUT',
  'MEMORY_LIMIT',
  'OUTPUT_LIMIT',
  'EXECUTOR_CRASHED',
  'ATTEMPTS_EXHAUSTED',
  // streams
  'DEAD_LETTERED',
  'MALFORMED_ENTRY',
  // uploader
  'UPLOAD_FAILED',
  'OUTPUT_BUCKET_NOT_ALLOWED',
  'OUTPUT_BUCKET_MISSING',
  'OUTPUT_ACCESS_DENIED',
  // anything else: a bug, reported with detail
  'INTERNAL_ERROR',
] as const;
export const ReasonCode = z.enum(REASON_CODES);
export type ReasonCode = z.infer<typeof ReasonCode>;
