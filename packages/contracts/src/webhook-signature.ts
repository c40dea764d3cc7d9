// Signed webhooks. A webhook body is signed with a secret shared by the device and the server:
//
//   X-Edgefleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// The timestamp is inside the signed text, so a captured request cannot be replayed later than the
// tolerance (default 300 s, which also absorbs the clock drift of devices without a battery-backed
// clock). Several `v1=` values may appear (a device signing with an old and a new secret during a
// rotation); one match is enough. Verify over the raw bytes received, before any JSON parsing.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Edgefleet-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Accepted difference between the signature's timestamp and the verifier's clock, in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestampSeconds: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/** The header value for a body signed now (`t=<seconds>,v1=<hex>`); one v1 per secret. */
export function signWebhookBody(
  secrets: string | readonly string[],
  body: string | Buffer,
  timestampSeconds: number,
): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const t = Math.floor(timestampSeconds);
  return [`t=${t}`, ...list.map((s) => `v1=${webhookSignature(s, t, body)}`)].join(',');
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; code: 'MISSING' | 'MALFORMED' | 'STALE' | 'MISMATCH'; detail: string };

export interface VerifyOptions {
  /** The header's value (`t=…,v1=…`). */
  header: string | undefined | null;
  /** The raw body, exactly as received. */
  body: string | Buffer;
  /** One secret, or several during a rotation. */
  secret: string | readonly string[];
  /** The verifier's clock in unix seconds (default: now). */
  nowSeconds?: number;
  /** Default SIGNATURE_TOLERANCE_SECONDS. */
  toleranceSeconds?: number;
}

/** Verifies a webhook signature header. Never throws; compares in constant time. */
export function verifyWebhookSignature(o: VerifyOptions): SignatureCheck {
  if (!o.header) return { ok: false, code: 'MISSING', detail: `no ${SIGNATURE_HEADER} header` };
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of o.header.split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) v1.push(v);
  }
  if (t === undefined || v1.length === 0)
    return { ok: false, code: 'MALFORMED', detail: 'expected t=<unix seconds>,v1=<64 hex digits>' };
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = o.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(now - t) > tolerance)
    return { ok: false, code: 'STALE', detail: `timestamp ${t} is more than ${tolerance} s from ${now}` };
  const secrets = typeof o.secret === 'string' ? [o.secret] : o.secret;
  for (const secret of secrets) {
    const expected = Buffer.from(webhookSignature(secret, t, o.body), 'hex');
    for (const given of v1)
      if (timingSafeEqual(expected, Buffer.from(given, 'hex'))) return { ok: true, timestamp: t };
  }
  return { ok: false, code: 'MISMATCH', detail: 'no signature matches the body' };
}
