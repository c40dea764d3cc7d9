// What to do with one incoming body (from SQS or the HTTP API): a pure decision, no I/O.
//
// Order of checks: size and JSON (contracts' parseSqsBody, which also reads the jobId when it can),
// then the signature when one is required or offered (nothing in an unsigned body is trusted, so a
// signature failure wins over any schema problem), then the schema result, then the device's policy
// (bucket allowlist, a GPU for `limits.gpu`, webhook allowlist). A failure with a usable jobId becomes `reject` (the record goes to
// REJECTED and the server is notified); without one it is `unusable` (logged by hash, counted, left
// to the queue's dead-letter policy).
//
// A body that fails the signature check is always `unusable`, whatever jobId it names: that id is only
// a claim by whoever could write to the queue. Recording REJECTED under it would make the real, signed
// job with that id a duplicate (deleted from SQS, never run), and notifying it would tell the server a
// lie about a job it sent. The claimed id is kept for the log line only (`claimedJobId`).
import {
  type CancelMessage,
  type JobMessage,
  type ParsedBody,
  parseS3Uri,
  parseSqsBody,
  type ReasonCode,
  webhookHostAllowed,
} from '@edgefleet/contracts';
import { bodyHash } from './body-hash.js';
import { verifySignature } from './signature.js';

export interface IntakePolicy {
  /** Buckets a job may name; empty = any. */
  allowedBuckets: readonly string[];
  /** Hosts notify.webhook may name (contracts' webhookHostAllowed); empty = no job webhooks. */
  webhookAllowedHosts: readonly string[];
  requireSignature: boolean;
  signingSecret?: string | undefined;
  /** This device has a CUDA GPU (service-kit's detectGpuFact); undefined = not checked. */
  gpu?: { present: boolean; because: string } | undefined;
}

export type IntakeDecision =
  | { kind: 'job'; message: JobMessage }
  | { kind: 'cancel'; message: CancelMessage }
  | { kind: 'reject'; jobId: string; code: ReasonCode; detail: string }
  | {
      kind: 'unusable';
      code: ReasonCode;
      detail: string;
      bodyHash: string;
      bytes: number;
      /** The jobId an unauthenticated body names: untrusted, for the log only. */
      claimedJobId?: string;
    };

function failure(body: string, code: ReasonCode, detail: string, jobId: string | undefined): IntakeDecision {
  if (jobId) return { kind: 'reject', jobId, code, detail };
  return { kind: 'unusable', code, detail, bodyHash: bodyHash(body), bytes: Buffer.byteLength(body, 'utf8') };
}

/** The buckets a job message names (inputs and output). */
function bucketsOf(message: JobMessage): string[] {
  const out = new Set<string>();
  for (const uri of [...message.inputs.map((i) => i.uri), message.output.uri]) {
    const loc = parseS3Uri(uri);
    if (loc.ok) out.add(loc.value.bucket);
  }
  return [...out];
}

function policyProblem(
  message: JobMessage,
  policy: IntakePolicy,
): { code: ReasonCode; detail: string } | null {
  if (policy.allowedBuckets.length > 0) {
    const foreign = bucketsOf(message).filter((b) => !policy.allowedBuckets.includes(b));
    if (foreign.length > 0)
      return {
        code: 'BUCKET_NOT_ALLOWED',
        detail: `bucket(s) not allowed on this device: ${foreign.join(', ')}`,
      };
  }
  if (message.limits.gpu && policy.gpu && !policy.gpu.present)
    return {
      code: 'GPU_UNAVAILABLE',
      detail: `the job needs a GPU and this device has none (${policy.gpu.because})`,
    };
  const webhook = message.notify.webhook;
  if (webhook) {
    const url = new URL(webhook);
    if (!webhookHostAllowed(url, policy.webhookAllowedHosts))
      return {
        code: 'WEBHOOK_NOT_ALLOWED',
        detail: `webhook host not in EDGEFLEET_WEBHOOK_ALLOWED_HOSTS on this device: ${url.host}`,
      };
  }
  return null;
}

const jobIdOf = (parsed: ParsedBody): string | undefined => (parsed.ok ? parsed.message.jobId : parsed.jobId);

/** Decides what to do with a raw body and its signature (if any). Never throws. */
export function decideIntake(
  body: string,
  signature: string | undefined,
  policy: IntakePolicy,
): IntakeDecision {
  const parsed = parseSqsBody(body);
  const jobId = jobIdOf(parsed);
  const secret = policy.signingSecret;
  if (policy.requireSignature || (secret && signature !== undefined)) {
    const check = secret ? verifySignature(body, signature, secret) : 'missing';
    if (check !== 'valid')
      return {
        kind: 'unusable',
        code: check === 'missing' ? 'SIGNATURE_MISSING' : 'SIGNATURE_INVALID',
        detail:
          check === 'missing'
            ? 'signatures are required on this device'
            : 'the signature does not match the body',
        bodyHash: bodyHash(body),
        bytes: Buffer.byteLength(body, 'utf8'),
        ...(jobId ? { claimedJobId: jobId } : {}),
      };
  }
  if (!parsed.ok) return failure(body, parsed.code, parsed.detail, parsed.jobId);
  const message = parsed.message;
  if (message.kind === 'cancel') return { kind: 'cancel', message };
  const problem = policyProblem(message, policy);
  if (problem) return { kind: 'reject', jobId: message.jobId, code: problem.code, detail: problem.detail };
  return { kind: 'job', message };
}
