// The result manifest: `manifest.json`, written last under `<output.uri>/<jobId>/` by result-uploader.
// Its presence means every file it lists was uploaded; a server reads it to find the outputs and to
// check them (size and sha256 of each object's bytes). Keys are deterministic, so a retried upload
// overwrites the same objects and the same manifest instead of adding copies.
import { z } from 'zod';
import { JobId } from './job-message.js';
import { ReasonCode, TerminalState } from './job-state.js';
import { PhaseTimings } from './stream-entries.js';

export const MANIFEST_VERSION = 1;
/** Name of the manifest object below the job's result prefix. */
export const MANIFEST_FILE = 'manifest.json';

export const ManifestFile = z.object({
  /** Path relative to the job folder: `output/plots/a.png`, `logs/stdout.log`. */
  path: z.string(),
  /** The object key in `bucket`. */
  key: z.string(),
  /** Bytes. */
  size: z.number().int().nonnegative(),
  /** sha256 of the bytes, 64 lowercase hex digits. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string(),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

/** A file found in the job folder but not uploaded (a symlink, a special file, an unsafe name). */
export const SkippedFile = z.object({
  path: z.string(),
  why: z.enum(['SYMLINK', 'NOT_A_FILE', 'UNSAFE_NAME']),
});
export type SkippedFile = z.infer<typeof SkippedFile>;

export const ResultManifestV1 = z.object({
  version: z.literal(MANIFEST_VERSION),
  jobId: JobId,
  /** The job's final state, as recorded after the upload. */
  state: TerminalState,
  reason: ReasonCode.optional(),
  detail: z.string().max(4096).optional(),
  /** The user's process exit code (null when killed by a signal or never started). */
  exitCode: z.number().int().nullable(),
  signal: z.string().optional(),
  /** The device that ran the job (its gossip name). */
  node: z.string(),
  /** Execution attempt (1 for the first run). */
  attempt: z.number().int().min(0),
  /** Milliseconds per phase; `uploadMs` covers the files listed here (not the manifest itself). */
  timings: PhaseTimings.extend({ uploadMs: z.number().nonnegative().optional() }),
  bucket: z.string(),
  /** The result prefix: `s3://bucket/prefix/<jobId>/`. */
  location: z.string(),
  /** ms since the epoch when the manifest was written. */
  createdAt: z.number().int(),
  files: z.array(ManifestFile),
  skipped: z.array(SkippedFile).default([]),
  /** Sum of `files[].size`. */
  totalBytes: z.number().int().nonnegative(),
  /** Labels from the job message, echoed back. */
  labels: z.record(z.string(), z.string()).optional(),
});
export type ResultManifest = z.infer<typeof ResultManifestV1>;
