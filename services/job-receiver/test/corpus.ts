// Malformed bodies: each with the decision it must produce. Used by the core test (pure decision) and
// by the SQS and HTTP integration tests (the record, the results entry, the queue).
import type { ReasonCode } from '@edgefleet/contracts';
import { signBody } from '../src/core/signature.js';
import { BUCKET, jobMessage } from './helpers.js';

export const SECRET = 'fleet-secret-for-tests-0123456789abcdef';

export interface CorpusCase {
  name: string;
  body: string;
  signature?: string;
  /** Signatures required for this case. */
  signed?: boolean;
  code: ReasonCode;
  /** The jobId the rejection is recorded under; absent = unusable (no jobId, or a signature failure). */
  jobId?: string;
}

export function malformedCorpus(idPrefix: string): CorpusCase[] {
  const id = (n: number) => `${idPrefix}-m${n}`;
  const job = (n: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...jobMessage(id(n)), ...extra });
  const withInput = (n: number, input: Record<string, unknown>) => job(n, { inputs: [input] });
  const cases: CorpusCase[] = [
    { name: 'not JSON', body: 'this is not json', code: 'INVALID_JSON' },
    { name: 'truncated JSON', body: '{"version":1,"kind":"job","jobId":"abc', code: 'INVALID_JSON' },
    { name: 'empty body', body: ' ', code: 'INVALID_JSON' },
    { name: 'JSON array', body: '[1,2,3]', code: 'SCHEMA_INVALID' },
    { name: 'JSON string', body: '"job"', code: 'SCHEMA_INVALID' },
    { name: 'JSON null', body: 'null', code: 'SCHEMA_INVALID' },
    {
      name: 'jobId of the wrong type',
      body: JSON.stringify({ ...jobMessage('x'), jobId: 42 }),
      code: 'SCHEMA_INVALID',
    },
    {
      name: 'jobId with traversal',
      body: JSON.stringify({ ...jobMessage('x'), jobId: '../etc' }),
      code: 'SCHEMA_INVALID',
    },
    {
      name: 'huge body',
      body: job(0, { labels: { pad: 'x'.repeat(200) }, env: { BIG: 'y'.repeat(300_000) } }),
      code: 'MESSAGE_TOO_LARGE',
    },
    { name: 'missing version', body: job(1, { version: undefined }), code: 'UNKNOWN_VERSION', jobId: id(1) },
    { name: 'unknown version', body: job(2, { version: 2 }), code: 'UNKNOWN_VERSION', jobId: id(2) },
    { name: 'version as a string', body: job(3, { version: '1' }), code: 'UNKNOWN_VERSION', jobId: id(3) },
    { name: 'unknown kind', body: job(4, { kind: 'deploy' }), code: 'SCHEMA_INVALID', jobId: id(4) },
    { name: 'missing inputs', body: job(5, { inputs: undefined }), code: 'SCHEMA_INVALID', jobId: id(5) },
    { name: 'no inputs', body: job(6, { inputs: [] }), code: 'SCHEMA_INVALID', jobId: id(6) },
    {
      name: 'entrypoint not a .py file',
      body: job(7, { code: { entrypoint: 'run.sh' } }),
      code: 'SCHEMA_INVALID',
      jobId: id(7),
    },
    {
      name: 'args of the wrong type',
      body: job(8, { code: { entrypoint: 'main.py', args: '--x' } }),
      code: 'SCHEMA_INVALID',
      jobId: id(8),
    },
    { name: 'unknown field', body: job(9, { extra: true }), code: 'SCHEMA_INVALID', jobId: id(9) },
    {
      name: 'reserved env variable',
      body: job(10, { env: { LD_PRELOAD: '/tmp/x.so' } }),
      code: 'SCHEMA_INVALID',
      jobId: id(10),
    },
    {
      name: 'timeout of the wrong type',
      body: job(11, { limits: { timeoutSeconds: 'forever' } }),
      code: 'SCHEMA_INVALID',
      jobId: id(11),
    },
    {
      name: 'path with ..',
      body: withInput(12, { uri: `s3://${BUCKET}/a.py`, path: '../../etc/passwd' }),
      code: 'UNSAFE_PATH',
      jobId: id(12),
    },
    {
      name: 'absolute path',
      body: withInput(13, { uri: `s3://${BUCKET}/a.py`, path: '/etc/passwd' }),
      code: 'UNSAFE_PATH',
      jobId: id(13),
    },
    {
      name: 'bare .. path',
      body: withInput(14, { uri: `s3://${BUCKET}/a.py`, path: '..' }),
      code: 'UNSAFE_PATH',
      jobId: id(14),
    },
    {
      name: 'traversal in the S3 key',
      body: withInput(15, { uri: `s3://${BUCKET}/a/../../b.py` }),
      code: 'UNSAFE_PATH',
      jobId: id(15),
    },
    {
      name: 'backslash path',
      body: withInput(16, { uri: `s3://${BUCKET}/a.py`, path: 'a\\..\\b' }),
      code: 'UNSAFE_PATH',
      jobId: id(16),
    },
    {
      name: 'NUL in a path',
      body: withInput(17, { uri: `s3://${BUCKET}/a.py`, path: 'a\u0000b' }),
      code: 'UNSAFE_PATH',
      jobId: id(17),
    },
    {
      name: 'foreign input bucket',
      body: withInput(18, { uri: 's3://someone-else/main.py' }),
      code: 'BUCKET_NOT_ALLOWED',
      jobId: id(18),
    },
    {
      name: 'foreign output bucket',
      body: job(19, { output: { uri: 's3://someone-else/out/' } }),
      code: 'BUCKET_NOT_ALLOWED',
      jobId: id(19),
    },
    {
      name: 'webhook host not allowed',
      body: job(20, { notify: { webhook: 'http://169.254.169.254/latest' } }),
      code: 'WEBHOOK_NOT_ALLOWED',
      jobId: id(20),
    },
    {
      name: 'unsigned while required',
      body: job(21),
      signed: true,
      code: 'SIGNATURE_MISSING',
    },
    {
      name: 'bad signature',
      body: job(22),
      signed: true,
      signature: 'f'.repeat(64),
      code: 'SIGNATURE_INVALID',
    },
    {
      name: 'signature not hex',
      body: job(23),
      signed: true,
      signature: 'not-a-signature',
      code: 'SIGNATURE_INVALID',
    },
    {
      name: 'signature of another body',
      body: job(24),
      signed: true,
      signature: signBody(job(99), SECRET),
      code: 'SIGNATURE_INVALID',
    },
    {
      name: 'unsigned cancel while required',
      body: JSON.stringify({ version: 1, kind: 'cancel', jobId: id(25) }),
      signed: true,
      code: 'SIGNATURE_MISSING',
    },
    { name: 'unsigned garbage while required', body: 'garbage', signed: true, code: 'SIGNATURE_MISSING' },
  ];
  return cases;
}
