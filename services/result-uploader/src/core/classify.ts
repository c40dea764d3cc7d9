// S3 failures → stable reason codes and a retry decision. Nothing here matches on message text: the
// SDK's error name (the S3 error code), the HTTP status and Node's network error codes decide.
//
//   NoSuchBucket / 404            → OUTPUT_BUCKET_MISSING   (final)
//   AccessDenied / 403 / 401 …    → OUTPUT_ACCESS_DENIED    (final)
//   throttling, 5xx, 408, network → UPLOAD_FAILED           (retryable)
//   anything else                 → UPLOAD_FAILED           (final)
import type { ReasonCode } from '@edgefleet/contracts';
import { ACCESS_DENIED_NAMES, errorFacts, isTransientError } from '@edgefleet/service-kit';

export interface UploadFailure {
  code: Extract<
    ReasonCode,
    'OUTPUT_BUCKET_MISSING' | 'OUTPUT_ACCESS_DENIED' | 'OUTPUT_BUCKET_NOT_ALLOWED' | 'UPLOAD_FAILED'
  >;
  retryable: boolean;
  detail: string;
}

export function classifyS3Error(err: unknown): UploadFailure {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as {
    message?: unknown;
    syscall?: unknown;
  };
  const { name, code, status } = errorFacts(err);
  const message = typeof e.message === 'string' ? e.message : '';
  const detail = `${name || code || 'Error'}${status ? ` (HTTP ${status})` : ''}: ${message}`.slice(0, 1000);
  const retryable = isTransientError(err);
  if (retryable) return { code: 'UPLOAD_FAILED', retryable, detail };
  // A local file error (the job folder changed under us) is final whatever its code.
  if (typeof e.syscall === 'string') return { code: 'UPLOAD_FAILED', retryable: false, detail };
  if (name === 'NoSuchBucket' || (status === 404 && name !== 'NoSuchUpload'))
    return { code: 'OUTPUT_BUCKET_MISSING', retryable: false, detail };
  if (ACCESS_DENIED_NAMES.has(name) || status === 403 || status === 401)
    return { code: 'OUTPUT_ACCESS_DENIED', retryable: false, detail };
  return { code: 'UPLOAD_FAILED', retryable: false, detail };
}
