// A short, stable fingerprint of a message body for logs: bodies without a usable jobId are never
// logged verbatim (they may be huge or hostile), only this hash and their size.
import { createHash } from 'node:crypto';

export const bodyHash = (body: string): string =>
  `sha256:${createHash('sha256').update(body, 'utf8').digest('hex').slice(0, 32)}`;
