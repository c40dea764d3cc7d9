// S3 failures → stable reason codes and a retry decision. Nothing here matches on message text: the
// SDK's error name (the S3 error code), the HTTP status and Node's network error codes decide.
//
//   NoSuchBucket / 404            → OUTPUT_BUCKET_MISSING   (final)
//   AccessDenied / 403 / 401 …    → OUTPUT_ACCESS_DENIED    (final)
//   throttling, 5xx, 408, network → UPLOAD_FAILED           (retryable)
//   anything else                 → UPLOAD_FAILED           (final)
import type { ReasonCode } from '@edgefleet/contracts';

export interface UploadFailure {
  code: Extract<
    ReasonCode,
    'OUTPUT_BUCKET_MISSING' | 'OUTPUT_ACCESS_DENIED' | 'OUTPUT_BUCKET_NOT_ALLOWED' | 'UPLOAD_FAILED'
  >;
  retryable: boolean;
  detail: string;
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
  'AccountProblem',
  'ExpiredToken',
  'InvalidToken',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  syscall?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function classifyS3Error(err: unknown): UploadFailure {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ErrorLike;
  const name = str(e.name) ?? '';
  const code = str(e.code) ?? str((e.cause as ErrorLike | undefined)?.code) ?? '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const detail =
    `${name || code || 'Error'}${status ? ` (HTTP ${status})` : ''}: ${str(e.message) ?? ''}`.slice(0, 1000);
  // A local file error (the job folder changed under us) is not a network error even with a code.
  if (typeof e.syscall === 'string' && !NETWORK.has(code))
    return { code: 'UPLOAD_FAILED', retryable: false, detail };
  if (name === 'NoSuchBucket' || (status === 404 && name !== 'NoSuchUpload'))
    return { code: 'OUTPUT_BUCKET_MISSING', retryable: false, detail };
  if (DENIED.has(name) || status === 403 || status === 401)
    return { code: 'OUTPUT_ACCESS_DENIED', retryable: false, detail };
  if (THROTTLING.has(name) || NETWORK.has(code) || NETWORK.has(name))
    return { code: 'UPLOAD_FAILED', retryable: true, detail };
  if (status !== undefined && (status >= 500 || status === 429 || status === 408))
    return { code: 'UPLOAD_FAILED', retryable: true, detail };
  // No HTTP status at all and no local syscall: the request never got an answer (socket hang up…).
  if (status === undefined && name !== 'AbortError')
    return { code: 'UPLOAD_FAILED', retryable: true, detail };
  return { code: 'UPLOAD_FAILED', retryable: false, detail };
}
