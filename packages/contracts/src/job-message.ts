// The SQS job message (v1) and the cancel message: what a server sends to a device.
//
// `parseSqsBody` is the one edge where a raw body becomes a typed message. It never throws: a body
// that cannot run comes back as a failure with a stable reason code, and with the jobId when one can
// be read, so the receiver can record REJECTED and the server hears why.
import { z } from 'zod';
import type { ReasonCode } from './job-state.js';
import { checkRelativePath, RelativePath, S3PrefixUri, S3Uri } from './paths.js';

/** Largest accepted SQS body, in bytes (SQS's own limit is 256 KiB). */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_INPUTS = 1000;
export const MAX_ARGS = 256;
export const MAX_ENV_VARS = 128;

/**
 * Job ids name Redis keys, S3 prefixes and folders: 1–128 characters of letters, digits, `.`, `_`
 * and `-`, starting with a letter or digit (so never `.` or `..`).
 */
export const JobId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'jobId: 1-128 of [A-Za-z0-9._-], starting alphanumeric');
export type JobId = z.infer<typeof JobId>;

/** Environment variable names a job may set. Names the device relies on are refused. */
const RESERVED_ENV = /^(EDGEFLEET_|AWS_|LD_|REDIS)|^(PATH|HOME|USER|SHELL|PYTHONHOME|VIRTUAL_ENV)$/;
export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable name')
  .refine((n) => !RESERVED_ENV.test(n), 'reserved environment variable name');

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256: 64 lowercase hex digits');

/** A file target inside the workspace (no trailing slash). */
const FilePath = RelativePath.refine((p) => !p.endsWith('/'), 'must name a file, not a folder');

export const JobInput = z
  .object({
    /** `s3://bucket/key` (an object) or `s3://bucket/prefix/` (a folder, copied with its structure). */
    uri: S3Uri,
    /** Where it lands in the workspace: default the object's basename, or the prefix's last segment. */
    path: RelativePath.optional(),
    /** Expected sha256 of the object's bytes (objects only). */
    sha256: Sha256.optional(),
  })
  .strict()
  .refine((i) => !(i.sha256 && i.uri.endsWith('/')), 'sha256 applies to objects, not prefixes');
export type JobInput = z.infer<typeof JobInput>;

export const JobLimits = z
  .object({
    /** Wall-clock limit for the user's code, in seconds (default: device setting). Max 7 days. */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
    /** Wall-clock limit for creating the environment, in seconds. */
    installTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .optional(),
    /**
     * Bytes the job may write into its folder (output/ and its temp folder), in MiB (default: device
     * setting). Enforced while it runs: above it the job ends FAILED with OUTPUT_LIMIT.
     */
    outputMiB: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .optional(),
    /** Memory limit for the job's processes, in MiB (cgroup where available). */
    memoryMiB: z
      .number()
      .int()
      .min(16)
      .max(1024 * 1024)
      .optional(),
    /** The job needs the device's CUDA GPU: a device without one rejects it at intake (GPU_UNAVAILABLE). */
    gpu: z.boolean().optional(),
  })
  .strict();
export type JobLimits = z.infer<typeof JobLimits>;

export const HttpUrl = z
  .string()
  .max(2048)
  .refine((u) => {
    try {
      const url = new URL(u);
      return (
        (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === ''
      );
    } catch {
      return false;
    }
  }, 'an http(s) URL without credentials');

export const JobMessageV1 = z
  .object({
    version: z.literal(1),
    kind: z.literal('job'),
    jobId: JobId,
    code: z
      .object({
        entrypoint: FilePath.refine((p) => p.endsWith('.py'), 'entrypoint must be a .py file'),
        args: z.array(z.string().max(4096)).max(MAX_ARGS).default([]),
        /** A requirements file in the workspace; absent means no install step. */
        requirements: FilePath.optional(),
        /** See the device's system site-packages (JetPack's CUDA builds of torch, OpenCV…). */
        systemSitePackages: z.boolean().optional(),
      })
      .strict(),
    inputs: z.array(JobInput).min(1).max(MAX_INPUTS),
    output: z.object({ uri: S3PrefixUri }).strict(),
    limits: JobLimits.default({}),
    env: z
      .record(EnvName, z.string().max(32 * 1024))
      .refine((e) => Object.keys(e).length <= MAX_ENV_VARS, `at most ${MAX_ENV_VARS} variables`)
      .default({}),
    notify: z
      .object({
        webhook: HttpUrl.optional(),
        /** Also notify when the job starts running (the terminal state is always notified). */
        onRunning: z.boolean().optional(),
      })
      .strict()
      .default({}),
    /** Free-form labels the server wants echoed back in notifications. */
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
  })
  .strict();
export type JobMessage = z.infer<typeof JobMessageV1>;
/** The message as written by a sender (defaults not yet applied). */
export type JobMessageInput = z.input<typeof JobMessageV1>;

export const CancelMessageV1 = z
  .object({
    version: z.literal(1),
    kind: z.literal('cancel'),
    jobId: JobId,
    reason: z.string().max(1024).optional(),
  })
  .strict();
export type CancelMessage = z.infer<typeof CancelMessageV1>;

export type ParsedBody =
  | { ok: true; message: JobMessage | CancelMessage }
  | { ok: false; code: ReasonCode; detail: string; jobId?: string };

const SUPPORTED_VERSIONS = new Set([1]);

/** Formats zod issues as one line: `inputs.0.uri: invalid S3 URI (DOT_SEGMENT); …` (at most 5). */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  if (error.issues.length > 5) parts.push(`… ${error.issues.length - 5} more`);
  return parts.join('; ');
}

function hasPathProblem(error: z.ZodError): boolean {
  return error.issues.some((i) => {
    const params = (i as { params?: { problem?: string } }).params;
    return (
      typeof params?.problem === 'string' && params.problem !== 'NOT_S3' && params.problem !== 'BAD_BUCKET'
    );
  });
}

/** Parses a raw SQS body. Never throws. */
export function parseSqsBody(raw: string): ParsedBody {
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    return { ok: false, code: 'MESSAGE_TOO_LARGE', detail: `body over ${MAX_BODY_BYTES} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return { ok: false, code: 'INVALID_JSON', detail: (e as Error).message };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, code: 'SCHEMA_INVALID', detail: 'body must be a JSON object' };
  }
  const obj = json as Record<string, unknown>;
  const idParse = JobId.safeParse(obj.jobId);
  const jobId = idParse.success ? idParse.data : undefined;
  const withId = <T extends object>(r: T) => (jobId ? { ...r, jobId } : r);
  if (typeof obj.version !== 'number' || !SUPPORTED_VERSIONS.has(obj.version)) {
    return withId({
      ok: false as const,
      code: 'UNKNOWN_VERSION' as const,
      detail: `version ${JSON.stringify(obj.version)} is not supported (supported: 1)`,
    });
  }
  const schema = obj.kind === 'cancel' ? CancelMessageV1 : obj.kind === 'job' ? JobMessageV1 : undefined;
  if (!schema) {
    return withId({
      ok: false as const,
      code: 'SCHEMA_INVALID' as const,
      detail: `kind must be "job" or "cancel"`,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const code: ReasonCode = hasPathProblem(parsed.error) ? 'UNSAFE_PATH' : 'SCHEMA_INVALID';
    return withId({ ok: false as const, code, detail: describeIssues(parsed.error) });
  }
  return { ok: true, message: parsed.data };
}

/** Where an input lands in the workspace (before collision checks): see the architecture's layout rule. */
export function inputTargetPath(input: Pick<JobInput, 'uri' | 'path'>): string {
  if (input.path) return input.path;
  const withoutScheme = input.uri.replace(/^s3:\/\/[^/]+\/?/, '');
  const trimmed = withoutScheme.endsWith('/') ? withoutScheme.slice(0, -1) : withoutScheme;
  const last = trimmed.split('/').pop() ?? '';
  // A bucket-root prefix (`s3://bucket/`) has no last segment: it lands at the workspace root ('').
  if (last === '') return '';
  return input.uri.endsWith('/') ? `${last}/` : last;
}

export { checkRelativePath };
