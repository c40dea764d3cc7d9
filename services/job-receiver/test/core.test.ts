// The pure core: intake decisions (the malformed corpus), signatures, back-pressure, cursors, SSE.
import { describe, expect, it } from 'vitest';
import { pollBudget } from '../src/core/backlog.js';
import { decodeCursor, encodeCursor, isAfter } from '../src/core/cursor.js';
import { decideIntake, type IntakePolicy } from '../src/core/intake.js';
import { retentionCutoff } from '../src/core/retention.js';
import { signBody, verifySignature } from '../src/core/signature.js';
import { sseEvent } from '../src/core/sse.js';
import { malformedCorpus, SECRET } from './corpus.js';
import { DEFAULT_POLICY, jobMessage } from './helpers.js';

const signedPolicy: IntakePolicy = { ...DEFAULT_POLICY, requireSignature: true, signingSecret: SECRET };

describe('decideIntake', () => {
  const corpus = malformedCorpus('core');
  it('has at least 20 malformed bodies', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
  });
  it.each(corpus.map((c) => [c.name, c] as const))('%s → its reason code', (_name, c) => {
    const d = decideIntake(c.body, c.signature, c.signed ? signedPolicy : DEFAULT_POLICY);
    if (c.jobId) expect(d).toMatchObject({ kind: 'reject', jobId: c.jobId, code: c.code });
    else {
      expect(d).toMatchObject({ kind: 'unusable', code: c.code });
      if (d.kind === 'unusable') expect(d.bodyHash).toMatch(/^sha256:[0-9a-f]{32}$/);
    }
  });

  it('accepts a valid job and a valid cancel', () => {
    const body = JSON.stringify(jobMessage('ok-1'));
    expect(decideIntake(body, undefined, DEFAULT_POLICY)).toMatchObject({
      kind: 'job',
      message: { jobId: 'ok-1' },
    });
    const cancel = JSON.stringify({ version: 1, kind: 'cancel', jobId: 'ok-1' });
    expect(decideIntake(cancel, undefined, DEFAULT_POLICY)).toMatchObject({ kind: 'cancel' });
  });

  it('accepts a correctly signed job when signatures are required (hex, or sha256= prefix)', () => {
    const body = JSON.stringify(jobMessage('ok-2'));
    expect(decideIntake(body, signBody(body, SECRET), signedPolicy).kind).toBe('job');
    expect(decideIntake(body, `sha256=${signBody(body, SECRET)}`, signedPolicy).kind).toBe('job');
  });

  it('refuses a wrong signature even when signatures are optional, without claiming the jobId', () => {
    const body = JSON.stringify(jobMessage('ok-3'));
    const policy = { ...DEFAULT_POLICY, signingSecret: SECRET };
    expect(decideIntake(body, 'a'.repeat(64), policy)).toMatchObject({
      kind: 'unusable',
      code: 'SIGNATURE_INVALID',
      claimedJobId: 'ok-3',
    });
    expect(decideIntake(body, undefined, policy).kind).toBe('job');
  });

  it('allows any bucket when the bucket allowlist is empty, but no job webhook when the host list is', () => {
    const withHook = (webhook?: string) =>
      JSON.stringify(
        jobMessage('ok-4', {
          inputs: [{ uri: 's3://other/x.py' }],
          ...(webhook ? { notify: { webhook } } : {}),
        }),
      );
    const open = { ...DEFAULT_POLICY, allowedBuckets: [], webhookAllowedHosts: [] };
    expect(decideIntake(withHook(), undefined, open).kind).toBe('job');
    expect(decideIntake(withHook('https://x.example/h'), undefined, open)).toMatchObject({
      kind: 'reject',
      code: 'WEBHOOK_NOT_ALLOWED',
      detail: expect.stringContaining('EDGEFLEET_WEBHOOK_ALLOWED_HOSTS'),
    });
    expect(decideIntake(withHook(), undefined, DEFAULT_POLICY).kind).toBe('reject');
  });

  it('matches webhook hosts like the uploader does: host, *.domain, host:port', () => {
    const policy = {
      ...DEFAULT_POLICY,
      allowedBuckets: [],
      webhookAllowedHosts: ['hooks.example.com', '*.corp.example', '127.0.0.1:8080'],
    };
    const decide = (webhook: string) =>
      decideIntake(JSON.stringify(jobMessage('ok-5', { notify: { webhook } })), undefined, policy).kind;
    expect(decide('https://hooks.example.com/x')).toBe('job');
    expect(decide('https://HOOKS.example.com:9443/x')).toBe('job');
    expect(decide('https://a.corp.example/x')).toBe('job');
    expect(decide('https://corp.example/x')).toBe('reject');
    expect(decide('http://127.0.0.1:8080/x')).toBe('job');
    expect(decide('http://127.0.0.1:8081/x')).toBe('reject');
    expect(decide('http://169.254.169.254/latest')).toBe('reject');
  });
});

describe('signatures', () => {
  it('verifies HMAC-SHA256 hex in constant time and classifies failures', () => {
    const sig = signBody('body', SECRET);
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature('body', sig, SECRET)).toBe('valid');
    expect(verifySignature('body', sig.toUpperCase(), SECRET)).toBe('valid');
    expect(verifySignature('body!', sig, SECRET)).toBe('invalid');
    expect(verifySignature('body', undefined, SECRET)).toBe('missing');
    expect(verifySignature('body', '  ', SECRET)).toBe('missing');
    expect(verifySignature('body', 'zz', SECRET)).toBe('invalid');
  });
});

describe('pollBudget', () => {
  it.each([
    [0, 20, 10, 10],
    [15, 20, 10, 5],
    [19, 20, 10, 1],
    [20, 20, 10, 0],
    [25, 20, 10, 0],
    [-3, 20, 10, 10],
    [0, 3, 10, 3],
  ])('backlog %i, limit %i, batch %i → %i', (backlog, limit, batch, expected) => {
    expect(pollBudget(backlog, limit, batch)).toBe(expected);
  });
});

describe('list cursor', () => {
  it('round-trips and orders (score desc, jobId desc)', () => {
    const c = { score: 1_764_000_000_000, jobId: 'job-7' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(isAfter(c, c.score - 1, 'zzz')).toBe(true);
    expect(isAfter(c, c.score, 'job-6')).toBe(true);
    expect(isAfter(c, c.score, 'job-7')).toBe(false);
    expect(isAfter(c, c.score + 1, 'a')).toBe(false);
  });
  it.each([
    '',
    '!!!',
    Buffer.from('x:job').toString('base64url'),
    Buffer.from('12:../x').toString('base64url'),
    'a'.repeat(500),
  ])('refuses %j', (text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});

describe('sse and retention', () => {
  it('frames an event with id, name and data', () => {
    expect(sseEvent('chunk', { data: 'a\nb' }, '1-0')).toBe(
      'id: 1-0\nevent: chunk\ndata: {"data":"a\\nb"}\n\n',
    );
  });
  it('computes the retention cutoff in ms', () => {
    expect(retentionCutoff(10_000_000, 3600)).toBe(10_000_000 - 3_600_000);
  });
});
