// Message signatures: HMAC-SHA256 of the exact body bytes with the fleet secret, as lowercase hex,
// carried in the SQS message attribute `EdgefleetSignature` (String) or the HTTP header
// `x-edgefleet-signature`. An optional `sha256=` prefix is accepted. Comparison is constant-time.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** SQS message attribute that carries the signature. */
export const SIGNATURE_ATTRIBUTE = 'EdgefleetSignature';
/** HTTP header that carries the signature. */
export const SIGNATURE_HEADER = 'x-edgefleet-signature';

export type SignatureCheck = 'valid' | 'missing' | 'invalid';

export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

export function verifySignature(body: string, given: string | undefined, secret: string): SignatureCheck {
  if (given === undefined || given.trim() === '') return 'missing';
  const hex = given.trim().replace(/^sha256=/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return 'invalid';
  const expected = Buffer.from(signBody(body, secret), 'hex');
  const actual = Buffer.from(hex.toLowerCase(), 'hex');
  return timingSafeEqual(expected, actual) ? 'valid' : 'invalid';
}
