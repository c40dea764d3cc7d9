// The runtime keyring API over a real Keyring: fingerprints only, install → use → remove, every
// error code, the token guard off loopback, persistence to the keyring file (atomic, and a failed
// write changes nothing), and the start-up rule of the keyring file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@edgefleet/service-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { formatKeyBase64, formatKeyringFile } from '../src/keyring/key-parse.js';
import { Keyring } from '../src/keyring/keyring.js';
import { fingerprint, KeyringAdmin } from '../src/keyring/keyring-admin.js';
import { readKeyringFile, writeKeyringFile } from '../src/keyring/keyring-file.js';
import { startupKeys } from '../src/keyring/startup-keys.js';

const key = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const A = key(32, 1);
const B = key(16, 2);
const b64 = formatKeyBase64;
const dir = mkdtempSync(join(tmpdir(), 'keyring-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ring = (...keys: Uint8Array[]) => {
  const r = Keyring.create(keys);
  if (!r.ok) throw new Error(r.detail);
  return r.keyring;
};

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
function make(keyring: Keyring, opts: { host?: string; apiToken?: string; file?: string } = {}) {
  const file = opts.file;
  const admin = new KeyringAdmin({
    keyring,
    logger: silentLogger(),
    ...(file ? { persist: (keys) => writeKeyringFile(file, keys) } : {}),
  });
  const { app } = buildApp({
    logger: silentLogger(),
    checks: [],
    host: opts.host ?? '127.0.0.1',
    view: () => undefined,
    keyring: () => admin,
    ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
  });
  apps.push(app);
  const post = (op: string, payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/keyring/${op}`,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  return { app, post, get: () => app.inject({ method: 'GET', url: '/v1/keyring' }) };
}

describe('keyring API', () => {
  it('lists fingerprints, never key material', async () => {
    const { get } = make(ring(A, B));
    const res = await get();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      enabled: true,
      primary: fingerprint(A),
      keys: [fingerprint(A), fingerprint(B)],
      persisted: false,
    });
    expect(fingerprint(A)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(res.body).not.toContain(b64(A));
    expect(res.body).not.toContain(b64(B));
  });

  it('rotates install → use → remove, each step visible in the live ring', async () => {
    const live = ring(A);
    const { post } = make(live);
    const installed = await post('install', { key: b64(B) });
    expect(installed.statusCode).toBe(200);
    expect(installed.json()).toMatchObject({
      changed: true,
      primary: fingerprint(A),
      keys: [fingerprint(A), fingerprint(B)],
    });
    expect(live.keys).toEqual([A, B]);
    expect((await post('install', { key: b64(B) })).json()).toMatchObject({ changed: false });
    const used = await post('use', { key: b64(B) });
    expect(used.json()).toMatchObject({ changed: true, primary: fingerprint(B) });
    expect(live.primary).toEqual(B);
    const removed = await post('remove', { key: b64(A) });
    expect(removed.json()).toMatchObject({ changed: true, primary: fingerprint(B), keys: [fingerprint(B)] });
    expect(live.keys).toEqual([B]);
    // Re-running a step is harmless (a rotation script can be retried).
    expect((await post('remove', { key: b64(A) })).json()).toMatchObject({ changed: false });
  });

  it.each([
    ['malformed JSON', 'install', '{"key":', 400, 'INVALID_JSON'],
    ['no body', 'install', '', 400, 'INVALID_JSON'],
    ['not an object', 'install', '"abc"', 400, 'BAD_REQUEST'],
    ['missing key', 'use', {}, 400, 'BAD_REQUEST'],
    ['key not a string', 'use', { key: 16 }, 400, 'BAD_REQUEST'],
    ['unknown field', 'install', { key: b64(B), primary: true }, 400, 'BAD_REQUEST'],
    ['bad base64', 'install', { key: 'not base64!' }, 400, 'BAD_KEY'],
    ['unpadded base64', 'install', { key: b64(B).replace(/=+$/, '') }, 400, 'BAD_KEY'],
    ['wrong length', 'install', { key: b64(key(20, 3)) }, 400, 'BAD_KEY'],
    ['use of an unknown key', 'use', { key: b64(key(24, 9)) }, 404, 'KEY_NOT_INSTALLED'],
    ['removing the primary', 'remove', { key: b64(A) }, 409, 'REMOVE_PRIMARY'],
  ] as const)('%s → %i %s, nothing changes', async (_what, op, payload, status, code) => {
    const live = ring(A, B);
    const { post } = make(live);
    const res = await post(op, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(live.keys).toEqual([A, B]);
  });

  it('a node without encryption refuses every change with ENCRYPTION_NOT_ENABLED', async () => {
    const live = ring();
    const { post, get } = make(live);
    expect((await get()).json()).toEqual({ enabled: false, primary: null, keys: [], persisted: false });
    for (const op of ['install', 'use', 'remove']) {
      const res = await post(op, { key: b64(A) });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('ENCRYPTION_NOT_ENABLED');
    }
    expect(live.enabled).toBe(false);
  });

  it('off loopback a change needs the API token; a wrong or missing one changes nothing', async () => {
    const live = ring(A);
    const noToken = make(live, { host: '0.0.0.0' });
    const refused = await noToken.post('install', { key: b64(B) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('TOKEN_NOT_CONFIGURED');
    const guarded = make(live, { host: '0.0.0.0', apiToken: 'a-token-of-16-chars!' });
    const wrong = await guarded.post('install', { key: b64(B) }, { authorization: 'Bearer nope' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('UNAUTHORIZED');
    expect(live.keys).toEqual([A]);
    const ok = await guarded.post(
      'install',
      { key: b64(B) },
      { authorization: 'Bearer a-token-of-16-chars!' },
    );
    expect(ok.statusCode).toBe(200);
    expect(live.keys).toEqual([A, B]);
    expect((await guarded.get()).statusCode).toBe(200);
  });

  it('persists every change atomically to the keyring file (0600, no temporary left)', async () => {
    const file = join(dir, 'ring.json');
    writeFileSync(file, formatKeyringFile([A]));
    const { post, get } = make(ring(A), { file });
    expect((await get()).json().persisted).toBe(true);
    await post('install', { key: b64(B) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([b64(A), b64(B)]);
    await post('use', { key: b64(B) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([b64(B), b64(A)]);
    await post('remove', { key: b64(A) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([b64(B)]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a failed write answers 500 PERSIST_FAILED and leaves the live ring as it was', async () => {
    const live = ring(A);
    const { post } = make(live, { file: join(dir, 'missing-dir', 'ring.json') });
    const res = await post('install', { key: b64(B) });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('PERSIST_FAILED');
    expect(live.keys).toEqual([A]);
  });

  it('concurrent changes are applied one at a time', async () => {
    const live = ring(A);
    const file = join(dir, 'concurrent.json');
    const { post } = make(live, { file });
    const keys = [2, 3, 4, 5, 6].map((f) => key(16, f));
    await Promise.all(keys.map((k) => post('install', { key: b64(k) })));
    expect(live.size).toBe(6);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(6);
  });
});

describe('keyring file at start', () => {
  const a = b64(A);
  it('without a file: the flags, as before', () => {
    expect(startupKeys({ key: a }, false, undefined)).toEqual({ ok: true, keys: [A] });
  });
  it('a missing file is created from the flags; without flags that is an error', () => {
    expect(startupKeys({ key: a }, true, undefined)).toEqual({ ok: true, keys: [A], create: true });
    expect(startupKeys({}, true, undefined)).toMatchObject({ ok: false, code: 'NO_KEYS' });
  });
  it('an existing file is the keyring; flags not in it are ignored (flagged)', () => {
    const text = formatKeyringFile([B, A]);
    expect(startupKeys({ key: a }, true, text)).toEqual({ ok: true, keys: [B, A] });
    expect(startupKeys({ key: b64(key(24, 5)) }, true, text)).toEqual({
      ok: true,
      keys: [B, A],
      ignoredFlags: true,
    });
    expect(startupKeys({}, true, '[]')).toMatchObject({ ok: false, code: 'EMPTY_KEYRING' });
  });
  it('readKeyringFile: undefined for a missing file', async () => {
    expect(await readKeyringFile(join(dir, 'nope.json'))).toBeUndefined();
  });
});
