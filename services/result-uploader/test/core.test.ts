// The pure core: key layout, content types, error classification, retry decisions, notification
// planning and bodies, manifests, entry decoding (every malformed shape), and the webhook signature.
import {
  encodeEntry,
  JobMessageV1,
  NotificationV1,
  ResultManifestV1,
  signWebhookBody,
  verifyWebhookSignature,
  webhookHostAllowed,
  webhookSignature,
} from '@edgefleet/contracts';
import { describe, expect, it } from 'vitest';
import { classifyS3Error } from '../src/core/classify.js';
import { contentTypeOf } from '../src/core/content-type.js';
import { decodeResultsEntry } from '../src/core/entry.js';
import { bucketAllowed, keyFits, manifestKey, objectKey, resultLocation } from '../src/core/keys.js';
import { buildManifest } from '../src/core/manifest.js';
import { buildNotification, type NotifySettings, planNotification } from '../src/core/notification.js';
import { finalOutcome } from '../src/core/outcome.js';
import { retryAfterAttempt, retryBeforeDeadline, webhookVerdict } from '../src/core/retry.js';
import { jobMessage, resultsEntry } from './harness.js';

const policy = { baseMs: 100, capMs: 1000 };

describe('key layout', () => {
  it('puts every object under <output prefix><jobId>/ with deterministic keys', () => {
    const loc = resultLocation('s3://bucket/results/', 'job-1');
    expect(loc).toEqual({
      ok: true,
      value: { bucket: 'bucket', prefix: 'results/job-1/', uri: 's3://bucket/results/job-1/' },
    });
    if (!loc.ok) return;
    expect(objectKey(loc.value, 'output/a/b.png')).toBe('results/job-1/output/a/b.png');
    expect(manifestKey(loc.value)).toBe('results/job-1/manifest.json');
    expect(resultLocation('s3://bucket', 'j')).toMatchObject({ ok: true, value: { prefix: 'j/' } });
  });
  it.each([
    ['https://bucket/x/', 'NOT_S3'],
    ['s3://Bad_Bucket/x/', 'BAD_BUCKET'],
    ['s3://bucket/a/../b/', 'DOT_SEGMENT'],
    ['s3://bucket/file.txt', 'must end with /'],
  ])('refuses output uri %s', (uri, why) => {
    const r = resultLocation(uri, 'j');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail).toContain(why);
  });
  it('checks the allowlist exactly and the key length', () => {
    expect(bucketAllowed('results', ['results', 'other'])).toBe(true);
    expect(bucketAllowed('results-evil', ['results'])).toBe(false);
    expect(bucketAllowed('results', [])).toBe(false);
    expect(keyFits('a'.repeat(1024))).toBe(true);
    expect(keyFits('é'.repeat(513))).toBe(false);
  });
});

describe('content types', () => {
  it.each([
    ['output/a.PNG', 'image/png'],
    ['logs/stdout.log', 'text/plain; charset=utf-8'],
    ['output/m.json', 'application/json'],
    ['output/noext', 'application/octet-stream'],
    ['output/.hidden', 'application/octet-stream'],
    ['output/x.unknownext', 'application/octet-stream'],
    ['output/dir.d/file', 'application/octet-stream'],
  ])('%s → %s', (path, type) => expect(contentTypeOf(path)).toBe(type));
});

describe('S3 error classification', () => {
  const aws = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  it.each([
    [aws('NoSuchBucket', 404), 'OUTPUT_BUCKET_MISSING', false],
    [aws('NotFound', 404), 'OUTPUT_BUCKET_MISSING', false],
    [aws('AccessDenied', 403), 'OUTPUT_ACCESS_DENIED', false],
    [aws('InvalidAccessKeyId', 403), 'OUTPUT_ACCESS_DENIED', false],
    [aws('Unknown', 401), 'OUTPUT_ACCESS_DENIED', false],
    [aws('SlowDown', 503), 'UPLOAD_FAILED', true],
    [aws('ServiceUnavailable', 503), 'UPLOAD_FAILED', true],
    [aws('InternalError', 500), 'UPLOAD_FAILED', true],
    [aws('Whatever', 502), 'UPLOAD_FAILED', true],
    [aws('TooManyRequestsException', 429), 'UPLOAD_FAILED', true],
    [aws('RequestTimeout', 400), 'UPLOAD_FAILED', true],
    [aws('NoSuchUpload', 404), 'UPLOAD_FAILED', false],
    [aws('InvalidArgument', 400), 'UPLOAD_FAILED', false],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'UPLOAD_FAILED', true],
    [Object.assign(new Error('x'), { cause: { code: 'ECONNREFUSED' } }), 'UPLOAD_FAILED', true],
    [Object.assign(new Error('ENOENT: gone'), { code: 'ENOENT', syscall: 'open' }), 'UPLOAD_FAILED', false],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), 'UPLOAD_FAILED', false],
    ['a string', 'UPLOAD_FAILED', true],
  ])('%o → %s (retryable %s)', (err, code, retryable) => {
    expect(classifyS3Error(err)).toMatchObject({ code, retryable });
  });
});

describe('retry decisions', () => {
  it('backs off with full jitter up to maxAttempts, never for final failures', () => {
    expect(retryAfterAttempt(1, 4, true, policy, () => 0.5)).toEqual({ retry: true, delayMs: 50 });
    expect(retryAfterAttempt(3, 4, true, policy, () => 0.999)).toEqual({ retry: true, delayMs: 399 });
    expect(retryAfterAttempt(4, 4, true, policy, () => 0.5)).toEqual({ retry: false });
    expect(retryAfterAttempt(1, 4, false, policy, () => 0.5)).toEqual({ retry: false });
    expect(retryAfterAttempt(20, 99, true, policy, () => 0.999)).toEqual({ retry: true, delayMs: 999 });
  });
  it('never waits past the deadline', () => {
    expect(retryBeforeDeadline(5, true, 1000, 1100, policy, () => 0.99)).toEqual({
      retry: true,
      delayMs: 100,
    });
    expect(retryBeforeDeadline(1, true, 1100, 1100, policy, () => 0.5)).toEqual({ retry: false });
    expect(retryBeforeDeadline(1, false, 0, 1100, policy, () => 0.5)).toEqual({ retry: false });
  });
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [301, 'rejected'],
    [302, 'rejected'],
    [400, 'rejected'],
    [401, 'rejected'],
    [404, 'rejected'],
    [408, 'retryable'],
    [425, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
  ])('webhook HTTP %d → %s', (status, verdict) => expect(webhookVerdict(status)).toBe(verdict));
});

describe('notification plan', () => {
  const settings: NotifySettings = {
    webhookAllowedHosts: ['hooks.example.com', '*.corp.example', '127.0.0.1:8080'],
    webhookAllowHttp: false,
    canSign: true,
    hasQueue: true,
    notifyOnRunning: false,
  };
  const msg = (notify: { webhook?: string; onRunning?: boolean }) =>
    JobMessageV1.parse(jobMessage('j', { notify }));
  it.each([
    ['https://hooks.example.com/cb', true],
    ['https://HOOKS.example.com:8443/cb', true],
    ['https://a.corp.example/cb', true],
    ['https://a.b.corp.example/cb', true],
    ['https://corp.example/cb', false],
    ['https://evilcorp.example/cb', false],
    ['https://hooks.example.com.evil.io/cb', false],
    ['https://127.0.0.1:8080/cb', true],
    ['https://127.0.0.1:9090/cb', false],
    ['https://169.254.169.254/latest', false],
    ['https://[::1]/cb', false],
  ])('host allowlist: %s → %s', (url, ok) =>
    expect(webhookHostAllowed(new URL(url), settings.webhookAllowedHosts)).toBe(ok),
  );

  it('uses an allowlisted job webhook and the queue', () => {
    expect(planNotification('terminal', msg({ webhook: 'https://hooks.example.com/cb' }), settings)).toEqual({
      wanted: true,
      sqs: true,
      webhook: 'https://hooks.example.com/cb',
      notes: [],
    });
  });
  it('refuses a non-allowlisted or plain-http job webhook and says why', () => {
    const p = planNotification('terminal', msg({ webhook: 'https://169.254.169.254/x' }), settings);
    expect(p.webhook).toBeUndefined();
    expect(p.notes.join('; ')).toMatch(
      /169.254.169.254 is not in EDGEFLEET_WEBHOOK_ALLOWED_HOSTS; notified via the results queue only/,
    );
    const h = planNotification('terminal', msg({ webhook: 'http://hooks.example.com/x' }), settings);
    expect(h.webhook).toBeUndefined();
    expect(h.notes[0]).toContain('only https');
    expect(
      planNotification('terminal', msg({ webhook: 'http://hooks.example.com/x' }), {
        ...settings,
        webhookAllowHttp: true,
      }).webhook,
    ).toBe('http://hooks.example.com/x');
  });
  it('falls back to the device webhook, which needs no allowlist entry, and needs a secret', () => {
    const s = { ...settings, webhookUrl: 'https://server.internal/cb' };
    expect(planNotification('terminal', undefined, s).webhook).toBe('https://server.internal/cb');
    expect(planNotification('terminal', msg({}), s).webhook).toBe('https://server.internal/cb');
    const unsigned = planNotification('terminal', msg({}), { ...s, canSign: false });
    expect(unsigned.webhook).toBeUndefined();
    expect(unsigned.notes[0]).toContain('EDGEFLEET_WEBHOOK_SECRET');
  });
  it('wants RUNNING only when the job or the device asks', () => {
    expect(planNotification('running', msg({}), settings).wanted).toBe(false);
    expect(planNotification('running', msg({ onRunning: true }), settings).wanted).toBe(true);
    expect(planNotification('running', msg({}), { ...settings, notifyOnRunning: true }).wanted).toBe(true);
    expect(
      planNotification('running', msg({ onRunning: false }), { ...settings, notifyOnRunning: true }).wanted,
    ).toBe(false);
  });
});

describe('notification body and manifest', () => {
  const entry = resultsEntry('job-9', { jobDir: '/d/jobs/job-9', signal: 'SIGKILL', exitCode: null });
  it('builds a valid notification with a stable idempotency key', () => {
    const n = buildNotification(entry, {
      state: 'SUCCEEDED',
      node: 'jetson-7',
      resultUri: 's3://b/p/job-9/',
      manifestUri: 's3://b/p/job-9/manifest.json',
      uploadMs: 12,
      labels: { a: 'b' },
    });
    expect(NotificationV1.parse(n)).toEqual(n);
    expect(n).toMatchObject({
      idempotencyKey: 'job-9:SUCCEEDED',
      at: entry.at,
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(n.timings.uploadMs).toBe(12);
    expect(buildNotification(entry, { state: 'SUCCEEDED', node: 'x' }).idempotencyKey).toBe(n.idempotencyKey);
  });
  it('keeps the run outcome, or FAILED with the upload reason and the run in the detail', () => {
    expect(finalOutcome(resultsEntry('j', { state: 'TIMED_OUT', reason: 'TIMEOUT' }))).toEqual({
      state: 'TIMED_OUT',
      reason: 'TIMEOUT',
      detail: undefined,
    });
    expect(
      finalOutcome(resultsEntry('j'), { code: 'OUTPUT_ACCESS_DENIED', detail: 'AccessDenied (HTTP 403)' }),
    ).toEqual({
      state: 'FAILED',
      reason: 'OUTPUT_ACCESS_DENIED',
      detail: 'AccessDenied (HTTP 403); run ended SUCCEEDED',
    });
  });
  it('builds a valid manifest, files sorted, total bytes summed', () => {
    const m = buildManifest({
      entry,
      outcome: { state: 'SUCCEEDED' },
      node: 'jetson-7',
      location: { bucket: 'b', prefix: 'p/job-9/', uri: 's3://b/p/job-9/' },
      files: [
        { path: 'output/z', key: 'p/job-9/output/z', size: 3, sha256: 'a'.repeat(64), contentType: 'x' },
        { path: 'logs/a', key: 'p/job-9/logs/a', size: 4, sha256: 'b'.repeat(64), contentType: 'x' },
      ],
      skipped: [{ path: 'output/link', why: 'SYMLINK' }],
      uploadMs: 5,
      createdAt: 1,
    });
    expect(ResultManifestV1.parse(m)).toEqual(m);
    expect(m.files.map((f) => f.path)).toEqual(['logs/a', 'output/z']);
    expect(m).toMatchObject({ totalBytes: 7, exitCode: null, signal: 'SIGKILL', timings: { uploadMs: 5 } });
  });
});

describe('results entry decoding', () => {
  const dataDir = '/var/lib/edgefleet';
  const ok = resultsEntry('job-1', { jobDir: '/var/lib/edgefleet/jobs/job-1' });
  const raw = (jobId: string, data: unknown) => [
    'jobId',
    jobId,
    'data',
    typeof data === 'string' ? data : JSON.stringify(data),
  ];
  it('accepts well-formed entries', () => {
    const slash = { ...ok, jobDir: '/var/lib/edgefleet/jobs/job-1/' };
    expect(decodeResultsEntry(encodeEntry(ok), dataDir)).toMatchObject({ ok: true });
    expect(decodeResultsEntry(encodeEntry(slash), `${dataDir}/`).ok).toBe(true);
    const noFiles = { ...ok, hasFiles: false, jobDir: undefined, state: 'REJECTED' };
    expect(decodeResultsEntry(encodeEntry(noFiles), dataDir).ok).toBe(true);
    const running = { ...ok, event: 'running', state: 'RUNNING', hasFiles: false };
    expect(decodeResultsEntry(encodeEntry(running), dataDir).ok).toBe(true);
  });
  it.each([
    ['no data', ['jobId', 'job-1'], 'no data field'],
    ['not JSON', raw('job-1', '{'), 'not JSON'],
    ['JSON array', raw('job-1', '[]'), 'expected object'],
    ['unknown state', raw('job-1', { ...ok, state: 'DONE' }), 'state'],
    ['unknown event', raw('job-1', { ...ok, event: 'paused' }), 'event'],
    ['bad jobId', raw('../x', { ...ok, jobId: '../x' }), 'jobId'],
    ['bad reason', raw('job-1', { ...ok, reason: 'BECAUSE' }), 'reason'],
    ['negative attempt', raw('job-1', { ...ok, attempt: -1 }), 'attempt'],
    ['hasFiles not boolean', raw('job-1', { ...ok, hasFiles: 'yes' }), 'hasFiles'],
    ['no at', raw('job-1', { ...ok, at: undefined }), 'at'],
    ['field id ≠ data id', raw('job-2', ok), 'differs'],
    [
      'running + terminal state',
      raw('job-1', { ...ok, event: 'running' }),
      'event running with state SUCCEEDED',
    ],
    ['terminal + RUNNING', raw('job-1', { ...ok, state: 'RUNNING' }), 'event terminal with state RUNNING'],
    [
      'running with files',
      raw('job-1', { ...ok, event: 'running', state: 'RUNNING' }),
      'a running entry has no files',
    ],
    ['files without jobDir', raw('job-1', { ...ok, jobDir: undefined }), 'hasFiles without jobDir'],
    [
      'jobDir elsewhere',
      raw('job-1', { ...ok, jobDir: '/etc' }),
      'jobDir must be /var/lib/edgefleet/jobs/job-1',
    ],
    [
      'jobDir of another job',
      raw('job-1', { ...ok, jobDir: '/var/lib/edgefleet/jobs/job-2' }),
      'jobDir must be',
    ],
    [
      'jobDir escaping',
      raw('job-1', { ...ok, jobDir: '/var/lib/edgefleet/jobs/job-1/../../../../etc' }),
      'jobDir must be',
    ],
    ['jobDir relative', raw('job-1', { ...ok, jobDir: 'jobs/job-1' }), 'jobDir must be'],
  ])('refuses %s', (_what, fields, detail) => {
    const d = decodeResultsEntry(fields as string[], dataDir);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.detail).toContain(detail);
  });
});

describe('webhook signature (contracts)', () => {
  const secret = 'a-webhook-secret-of-32-characters';
  const body = '{"jobId":"j","state":"SUCCEEDED"}';
  it('signs t=<seconds>,v1=<hex HMAC of "<t>.<body>"> and verifies it', () => {
    const header = signWebhookBody(secret, body, 1_800_000_000);
    expect(header).toBe(`t=1800000000,v1=${webhookSignature(secret, 1_800_000_000, body)}`);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ header, body, secret, nowSeconds: 1_800_000_100 })).toEqual({
      ok: true,
      timestamp: 1_800_000_000,
    });
    expect(
      verifyWebhookSignature({ header, body: Buffer.from(body), secret, nowSeconds: 1_800_000_000 }).ok,
    ).toBe(true);
  });
  it.each([
    ['missing', undefined, body, 0, 'MISSING'],
    ['garbage', 'sha256=abc', body, 0, 'MALFORMED'],
    ['no v1', 't=1800000000', body, 0, 'MALFORMED'],
    ['short v1', 't=1800000000,v1=abcd', body, 0, 'MALFORMED'],
    ['too old', 'SIGNED', body, 301, 'STALE'],
    ['from the future', 'SIGNED', body, -301, 'STALE'],
    ['body changed', 'SIGNED', `${body} `, 0, 'MISMATCH'],
  ])('rejects %s', (_what, header, b, skew, code) => {
    const h = header === 'SIGNED' ? signWebhookBody(secret, body, 1_800_000_000) : header;
    expect(
      verifyWebhookSignature({ header: h, body: b, secret, nowSeconds: 1_800_000_000 + skew }),
    ).toMatchObject({ ok: false, code });
  });
  it('rejects another secret, and accepts any of several during a rotation', () => {
    const header = signWebhookBody(['old-secret-0123456789', secret], body, 1_800_000_000);
    expect(
      verifyWebhookSignature({ header, body, secret: 'wrong-secret-0123456789', nowSeconds: 1_800_000_000 }),
    ).toMatchObject({
      code: 'MISMATCH',
    });
    expect(verifyWebhookSignature({ header, body, secret, nowSeconds: 1_800_000_000 }).ok).toBe(true);
    expect(
      verifyWebhookSignature({
        header: signWebhookBody(secret, body, 1_800_000_000),
        body,
        secret: ['new-0123456789abcdef', secret],
        nowSeconds: 1_800_000_000,
      }).ok,
    ).toBe(true);
  });
});
