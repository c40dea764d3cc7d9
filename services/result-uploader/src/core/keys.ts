// Where a job's results go in S3. Keys are a pure function of the output URI, the job id and the file's
// path in the job folder, so a retried upload overwrites the same objects instead of adding copies:
//
//   s3://bucket/results/  +  job 42  →  results/42/output/plots/a.png, results/42/logs/stdout.log,
//                                       results/42/manifest.json
import { MANIFEST_FILE, parseS3Uri } from '@edgefleet/contracts';

export interface ResultLocation {
  bucket: string;
  /** Key prefix of the job's results, ending in `/`: `<output key prefix><jobId>/`. */
  prefix: string;
  /** `s3://bucket/<prefix>` */
  uri: string;
}

/** S3's limit on a key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

export function resultLocation(
  outputUri: string,
  jobId: string,
): { ok: true; value: ResultLocation } | { ok: false; detail: string } {
  const parsed = parseS3Uri(outputUri);
  if (!parsed.ok) return { ok: false, detail: `output.uri ${outputUri}: invalid S3 URI (${parsed.problem})` };
  if (!parsed.value.isPrefix) return { ok: false, detail: `output.uri ${outputUri}: must end with /` };
  const prefix = `${parsed.value.key}${jobId}/`;
  return {
    ok: true,
    value: { bucket: parsed.value.bucket, prefix, uri: `s3://${parsed.value.bucket}/${prefix}` },
  };
}

/** The key of a file of the job folder (`output/a/b.txt`, `logs/stdout.log`). */
export const objectKey = (loc: ResultLocation, relPath: string): string => `${loc.prefix}${relPath}`;

export const manifestKey = (loc: ResultLocation): string => `${loc.prefix}${MANIFEST_FILE}`;

export const s3UriOf = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/** True when a key fits S3's limit. */
export const keyFits = (key: string): boolean => Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES;

/** True when the bucket is in the device's allowlist (exact names; an empty list allows nothing). */
export const bucketAllowed = (bucket: string, allowlist: readonly string[]): boolean =>
  allowlist.includes(bucket);
