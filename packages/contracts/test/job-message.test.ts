import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobMessageV1, MAX_BODY_BYTES, parseSqsBody, type ReasonCode } from '../src/index.js';

const examplesDir = new URL('../examples/', import.meta.url);
const minimal = JSON.parse(readFileSync(new URL('job.minimal.json', examplesDir), 'utf8'));
const body = (patch: Record<string, unknown>) => JSON.stringify({ ...minimal, ...patch });

describe('examples', () => {
  it.each(readdirSync(examplesDir))('%s parses', (file) => {
    const r = parseSqsBody(readFileSync(new URL(file, examplesDir), 'utf8'));
    expect(r).toMatchObject({ ok: true });
  });

  it('applies defaults', () => {
    const r = JobMessageV1.parse(minimal);
    expect(r.code.args).toEqual([]);
    expect(r.env).toEqual({});
    expect(r.limits).toEqual({});
  });
});

describe('parseSqsBody rejects malformed bodies with a stable reason', () => {
  const cases: [string, string, ReasonCode, string | undefined][] = [
    ['not JSON', '{"version":1,', 'INVALID_JSON', undefined],
    ['empty body', '', 'INVALID_JSON', undefined],
    ['a JSON array', '[1,2]', 'SCHEMA_INVALID', undefined],
    ['a JSON string', '"job"', 'SCHEMA_INVALID', undefined],
    ['null', 'null', 'SCHEMA_INVALID', undefined],
    ['unknown version', body({ version: 2 }), 'UNKNOWN_VERSION', 'hello-001'],
    ['version as string', body({ version: '1' }), 'UNKNOWN_VERSION', 'hello-001'],
    ['missing version', JSON.stringify({ ...minimal, version: undefined }), 'UNKNOWN_VERSION', 'hello-001'],
    ['unknown kind', body({ kind: 'run' }), 'SCHEMA_INVALID', 'hello-001'],
    ['missing jobId', JSON.stringify({ ...minimal, jobId: undefined }), 'SCHEMA_INVALID', undefined],
    ['jobId with a slash', body({ jobId: '../evil' }), 'SCHEMA_INVALID', undefined],
    ['jobId too long', body({ jobId: 'a'.repeat(129) }), 'SCHEMA_INVALID', undefined],
    ['jobId as number', body({ jobId: 42 }), 'SCHEMA_INVALID', undefined],
    ['no inputs', body({ inputs: [] }), 'SCHEMA_INVALID', 'hello-001'],
    ['inputs wrong type', body({ inputs: 's3://b/x' }), 'SCHEMA_INVALID', 'hello-001'],
    ['input not s3', body({ inputs: [{ uri: 'https://x/y' }] }), 'SCHEMA_INVALID', 'hello-001'],
    [
      'traversal in key',
      body({ inputs: [{ uri: 's3://bucket/../etc/passwd' }] }),
      'UNSAFE_PATH',
      'hello-001',
    ],
    [
      'traversal in path',
      body({ inputs: [{ uri: 's3://bucket/a.txt', path: '../../a.txt' }] }),
      'UNSAFE_PATH',
      'hello-001',
    ],
    [
      'bare .. path',
      body({ inputs: [{ uri: 's3://bucket/a.txt', path: '..' }] }),
      'UNSAFE_PATH',
      'hello-001',
    ],
    [
      'absolute path',
      body({ inputs: [{ uri: 's3://bucket/a.txt', path: '/etc/cron.d/x' }] }),
      'UNSAFE_PATH',
      'hello-001',
    ],
    [
      'NUL in path',
      body({ inputs: [{ uri: 's3://bucket/a.txt', path: 'a\u0000.txt' }] }),
      'UNSAFE_PATH',
      'hello-001',
    ],
    ['absolute entrypoint', body({ code: { entrypoint: '/tmp/main.py' } }), 'UNSAFE_PATH', 'hello-001'],
    ['entrypoint not .py', body({ code: { entrypoint: 'main.sh' } }), 'SCHEMA_INVALID', 'hello-001'],
    ['entrypoint a folder', body({ code: { entrypoint: 'src/' } }), 'SCHEMA_INVALID', 'hello-001'],
    ['output not a prefix', body({ output: { uri: 's3://bucket/file.txt' } }), 'SCHEMA_INVALID', 'hello-001'],
    [
      'sha256 malformed',
      body({ inputs: [{ uri: 's3://bucket/a.txt', sha256: 'xyz' }] }),
      'SCHEMA_INVALID',
      'hello-001',
    ],
    [
      'sha256 on a prefix',
      body({ inputs: [{ uri: 's3://bucket/d/', sha256: 'a'.repeat(64) }] }),
      'SCHEMA_INVALID',
      'hello-001',
    ],
    ['unknown field', body({ extra: true }), 'SCHEMA_INVALID', 'hello-001'],
    ['negative timeout', body({ limits: { timeoutSeconds: -1 } }), 'SCHEMA_INVALID', 'hello-001'],
    ['reserved env var', body({ env: { AWS_SECRET_ACCESS_KEY: 'x' } }), 'SCHEMA_INVALID', 'hello-001'],
    ['LD_PRELOAD', body({ env: { LD_PRELOAD: '/tmp/x.so' } }), 'SCHEMA_INVALID', 'hello-001'],
    ['env value not string', body({ env: { A: 1 } }), 'SCHEMA_INVALID', 'hello-001'],
    ['webhook not http', body({ notify: { webhook: 'file:///etc/passwd' } }), 'SCHEMA_INVALID', 'hello-001'],
    [
      'webhook with credentials',
      body({ notify: { webhook: 'https://u:p@h/x' } }),
      'SCHEMA_INVALID',
      'hello-001',
    ],
    ['huge body', body({ env: { A: 'x'.repeat(MAX_BODY_BYTES) } }), 'MESSAGE_TOO_LARGE', undefined],
    ['cancel without jobId', '{"version":1,"kind":"cancel"}', 'SCHEMA_INVALID', undefined],
  ];
  it.each(cases)('%s', (_name, raw, code, jobId) => {
    const r = parseSqsBody(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.jobId).toBe(jobId);
    expect(r.detail.length).toBeGreaterThan(0);
  });

  it('names the offending field in the detail', () => {
    const r = parseSqsBody(body({ inputs: [{ uri: 's3://bucket/a.txt', path: '../x' }] }));
    expect(r.ok || r.detail).toMatch(/inputs\.0\.path/);
  });
});
