// Which failures of a request to S3 (or any AWS-style HTTP service) are worth waiting out: the service
// was unreachable or overloaded (network errors, timeouts, throttling, 5xx, 408, 429), as opposed to
// an answer that will not change on retry (404, 403, a local file error). Nothing here matches on
// message text: the SDK's error name (the service's error code), the HTTP status and Node's network
// error codes decide. Pure.

const THROTTLING_OR_UNAVAILABLE = new Set([
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

export const ACCESS_DENIED_NAMES: ReadonlySet<string> = new Set([
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
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  syscall?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export interface ErrorFacts {
  name: string;
  code: string;
  status: number | undefined;
}

/** Name, network code and HTTP status of an SDK or Node error. */
export function errorFacts(err: unknown): ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  return {
    name: str(e.name) ?? '',
    code: str(e.code) ?? str((e.cause as ErrorLike | undefined)?.code) ?? '',
    status: typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
  };
}

/** True when retrying the same request later may succeed. */
export function isTransientError(err: unknown): boolean {
  const { name, code, status } = errorFacts(err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  // A local file error (the job folder changed, disk full) is not an outage even with a code.
  if (typeof e.syscall === 'string' && !NETWORK.has(code)) return false;
  if (name === 'AbortError') return false;
  if (status === 404 || status === 403 || status === 401 || ACCESS_DENIED_NAMES.has(name)) return false;
  if (THROTTLING_OR_UNAVAILABLE.has(name) || NETWORK.has(code) || NETWORK.has(name)) return true;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  // No HTTP status and no local syscall: the request never got an answer (socket hang up…).
  return true;
}
