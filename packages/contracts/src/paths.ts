// Path rules for everything a job message names on the device's disk or in S3.
//
// A job message is untrusted input: `inputs[].path` and the keys below an S3 prefix decide where bytes
// are written. A path is accepted only when it is relative, normalised and stays inside its root:
// no absolute path (`/x`, `C:x`), no `..` segment anywhere (a bare `..`, `a/../..`, `a/..`), no `.`
// segment, no empty segment (`a//b`), no NUL or other control character, no backslash (a Windows
// separator that some tools honour), and bounded lengths. We reject instead of normalising: a message
// that needs normalising was written by something we should not trust to get the rest right.
import { z } from 'zod';

/** Longest accepted relative path, in bytes of UTF-8 (S3 keys are limited to 1024 bytes). */
export const MAX_PATH_BYTES = 1024;
/** Longest accepted single segment, in bytes of UTF-8 (ext4 and most filesystems: 255). */
export const MAX_SEGMENT_BYTES = 255;
/** Deepest accepted nesting, in segments. */
export const MAX_PATH_DEPTH = 32;

export type PathProblem =
  | 'EMPTY'
  | 'ABSOLUTE'
  | 'DOT_SEGMENT'
  | 'EMPTY_SEGMENT'
  | 'CONTROL_CHAR'
  | 'BACKSLASH'
  | 'TOO_LONG'
  | 'SEGMENT_TOO_LONG'
  | 'TOO_DEEP';

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * Checks one relative path. `allowTrailingSlash` accepts `dir/` (a folder target); the trailing
 * slash is not a segment. Returns null when the path is safe, else the first problem found.
 */
export function checkRelativePath(
  path: string,
  opts: { allowTrailingSlash?: boolean } = {},
): PathProblem | null {
  if (path.length === 0) return 'EMPTY';
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'CONTROL_CHAR';
  if (path.includes('\\')) return 'BACKSLASH';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'ABSOLUTE';
  if (utf8Bytes(path) > MAX_PATH_BYTES) return 'TOO_LONG';
  const body = opts.allowTrailingSlash && path.endsWith('/') ? path.slice(0, -1) : path;
  if (body.length === 0) return 'EMPTY';
  const segments = body.split('/');
  if (segments.length > MAX_PATH_DEPTH) return 'TOO_DEEP';
  for (const seg of segments) {
    if (seg === '') return 'EMPTY_SEGMENT';
    if (seg === '.' || seg === '..') return 'DOT_SEGMENT';
    if (utf8Bytes(seg) > MAX_SEGMENT_BYTES) return 'SEGMENT_TOO_LONG';
  }
  return null;
}

/** True when `path` is a safe relative path (see checkRelativePath). */
export const isSafeRelativePath = (path: string, opts?: { allowTrailingSlash?: boolean }) =>
  checkRelativePath(path, opts) === null;

/** A workspace-relative target path: a file (`a/b.txt`) or a folder (`images/`). */
export const RelativePath = z
  .string()
  .superRefine((p, ctx) => {
    const problem = checkRelativePath(p, { allowTrailingSlash: true });
    if (problem) ctx.addIssue({ code: 'custom', message: `unsafe path (${problem})`, params: { problem } });
  })
  .meta({
    description:
      'Relative path inside the workspace: no leading /, no drive letter, no . or .. segment, no empty segment, ' +
      `no backslash or control character, at most ${MAX_PATH_BYTES} bytes, ${MAX_SEGMENT_BYTES} per segment, ${MAX_PATH_DEPTH} segments. A trailing / names a folder.`,
  });

/** S3 bucket names (AWS rules, simplified: 3–63 chars of a-z 0-9 . -, starting and ending alphanumeric). */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface S3Location {
  bucket: string;
  /** Object key, or a prefix ending in `/`; empty for the bucket root. */
  key: string;
  /** True when the URI names a prefix (ends in `/` or is the bucket root). */
  isPrefix: boolean;
}

export type S3UriProblem = 'NOT_S3' | 'BAD_BUCKET' | PathProblem;

/**
 * Parses `s3://bucket/key` or `s3://bucket/prefix/`. The key follows the same rules as a relative
 * path, so a key can always be mirrored onto disk below a folder without escaping it.
 */
export function parseS3Uri(
  uri: string,
): { ok: true; value: S3Location } | { ok: false; problem: S3UriProblem } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/s.exec(uri);
  if (!m) return { ok: false, problem: 'NOT_S3' };
  const bucket = m[1] ?? '';
  const key = m[2] ?? '';
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) return { ok: false, problem: 'BAD_BUCKET' };
  if (key === '') return { ok: true, value: { bucket, key: '', isPrefix: true } };
  const problem = checkRelativePath(key, { allowTrailingSlash: true });
  if (problem) return { ok: false, problem };
  return { ok: true, value: { bucket, key, isPrefix: key.endsWith('/') } };
}

export const S3Uri = z
  .string()
  .superRefine((uri, ctx) => {
    const r = parseS3Uri(uri);
    if (!r.ok)
      ctx.addIssue({
        code: 'custom',
        message: `invalid S3 URI (${r.problem})`,
        params: { problem: r.problem },
      });
  })
  .meta({ description: 's3://bucket/key or s3://bucket/prefix/ ; the key follows the relative path rules' });

/** An S3 URI that must name a prefix (a "folder"), e.g. the output location. */
export const S3PrefixUri = S3Uri.refine((uri) => uri.endsWith('/') || /^s3:\/\/[^/]+$/.test(uri), {
  message: 'must name a prefix (end with /)',
});
