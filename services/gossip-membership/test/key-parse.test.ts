// key-parse.ts and keyring.ts: every key form an operator can give (--key base64, --key-text,
// keyring file), malformed input as coded values, the legacy key, merging of sources, and the
// keyring's memberlist semantics (install → use → remove, primary protected).
import { describe, expect, it } from 'vitest';
import {
  combineKeySources,
  DEFAULT_KEY_TEXT_SIZE,
  formatKeyBase64,
  formatKeyringFile,
  parseKeyBase64,
  parseKeyringFile,
  parseKeyText,
} from '../src/keyring/key-parse.js';
import { Keyring, validateKey } from '../src/keyring/keyring.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (n: number, fill = 7) => Buffer.alloc(n, fill).toString('base64');
const LEGACY_HEX = `${Buffer.from('clustersecret').toString('hex')}${'00'.repeat(11)}`;

describe('parseKeyBase64 (--key)', () => {
  it.each([16, 24, 32])('accepts %i bytes', (n) => {
    const r = parseKeyBase64(b64(n));
    expect(r.ok && r.key.length).toBe(n);
  });
  it('accepts a consul keygen key and trims surrounding whitespace', () => {
    const r = parseKeyBase64('  pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=\n');
    expect(r.ok && r.key.length).toBe(32);
    expect(r.ok && formatKeyBase64(r.key)).toBe('pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=');
  });
  it.each([
    ['', 'EMPTY'],
    ['   \n', 'EMPTY'],
    ['not base64!', 'BAD_BASE64'],
    ['pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s', 'BAD_BASE64'], // missing padding
    ['pUqJrVyVRj5jsiYEkM_tFQYfWyJIv4s3XkvDwy7Cu5s=', 'BAD_BASE64'], // URL-safe alphabet
    ['pUqJrVyVRj5j siYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=', 'BAD_BASE64'], // inner space
    ['AAAA=AAA', 'BAD_BASE64'],
    ['====', 'BAD_BASE64'],
    [b64(15), 'BAD_KEY_SIZE'],
    [b64(17), 'BAD_KEY_SIZE'],
    [b64(8), 'BAD_KEY_SIZE'],
    [b64(33), 'BAD_KEY_SIZE'],
    [b64(64), 'BAD_KEY_SIZE'],
    ['AA==', 'BAD_KEY_SIZE'],
  ])('refuses %j with %s and never echoes the key', (input, code) => {
    const r = parseKeyBase64(input);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok && input.trim().length > 4) expect(r.detail).not.toContain(input.trim());
  });
});

describe('parseKeyText (--key-text)', () => {
  it('the legacy key: "clustersecret" zero-padded to 24 bytes (AES-192) by default', () => {
    expect(DEFAULT_KEY_TEXT_SIZE).toBe(24);
    const r = parseKeyText('clustersecret');
    expect(r.ok && toHex(r.key)).toBe(LEGACY_HEX);
  });
  it.each([16, 24, 32])('pads to an explicit size %i', (n) => {
    const r = parseKeyText('abc', n);
    expect(r.ok && r.key.length).toBe(n);
    expect(r.ok && toHex(r.key.subarray(0, 4))).toBe('61626300');
  });
  it('a secret of exactly the size is used as is', () => {
    const r = parseKeyText('0123456789abcdef', 16);
    expect(r.ok && Buffer.from(r.key).toString()).toBe('0123456789abcdef');
    expect(parseKeyText('x'.repeat(32), 32).ok).toBe(true);
  });
  it.each([
    ['', 24, 'EMPTY'],
    ['x'.repeat(25), 24, 'TOO_LONG'],
    ['x'.repeat(17), 16, 'TOO_LONG'],
    ['x'.repeat(33), 32, 'TOO_LONG'],
    ['clustersecret', 20, 'BAD_KEY_SIZE'],
    ['clustersecret', 0, 'BAD_KEY_SIZE'],
    ['clüstersecret', 24, 'BAD_CHARACTER'],
    ['cluster\u0000secret', 24, 'BAD_CHARACTER'],
    ['secret\n', 24, 'BAD_CHARACTER'],
    ['tab\there', 24, 'BAD_CHARACTER'],
    ['emoji🙂', 24, 'BAD_CHARACTER'],
  ])('refuses %j (size %i) with %s', (input, size, code) => {
    expect(parseKeyText(input, size)).toMatchObject({ ok: false, code });
  });
});

describe('parseKeyringFile (Consul keyring file)', () => {
  it('primary first, order kept, duplicates dropped', () => {
    const r = parseKeyringFile(JSON.stringify([b64(16, 1), b64(32, 2), b64(16, 1), b64(24, 3)]));
    expect(r.ok && r.keys.map((k) => k.length)).toEqual([16, 32, 24]);
    expect(r.ok && r.keys[0]?.[0]).toBe(1);
  });
  it('round-trips formatKeyringFile', () => {
    const keys = [Buffer.alloc(16, 9), Buffer.alloc(32, 8)].map((b) => new Uint8Array(b));
    const r = parseKeyringFile(formatKeyringFile(keys));
    expect(r.ok && r.keys.map(toHex)).toEqual(keys.map(toHex));
  });
  it.each([
    ['', 'BAD_JSON'],
    ['[', 'BAD_JSON'],
    ['{"keys": []}', 'NOT_AN_ARRAY'],
    ['"abc"', 'NOT_AN_ARRAY'],
    ['null', 'NOT_AN_ARRAY'],
    ['[]', 'EMPTY_KEYRING'],
    ['[1]', 'BAD_BASE64'],
    ['[null]', 'BAD_BASE64'],
    [`["${b64(16)}", "%%%"]`, 'BAD_BASE64'],
    [`["${b64(16)}", "${b64(10)}"]`, 'BAD_KEY_SIZE'],
    ['[""]', 'EMPTY'],
  ])('refuses %j with %s', (input, code) => {
    expect(parseKeyringFile(input)).toMatchObject({ ok: false, code });
  });
  it('names the failing entry', () => {
    const r = parseKeyringFile(`["${b64(16)}", "${b64(10)}"]`);
    expect(!r.ok && r.detail).toMatch(/entry 1/);
  });
});

describe('combineKeySources', () => {
  it('nothing given → no keys (plaintext cluster)', () => {
    expect(combineKeySources({})).toEqual({ ok: true, keys: [] });
  });
  it('primary = --key, then --key-text, then the file; duplicates once', () => {
    const file = JSON.stringify([b64(32, 5), b64(16, 1)]);
    const r = combineKeySources({ key: b64(16, 1), keyText: 'clustersecret', keyringFile: file });
    expect(r.ok && r.keys.map((k) => k.length)).toEqual([16, 24, 32]);
    const t = combineKeySources({ keyText: 'clustersecret', keyringFile: file });
    expect(t.ok && t.keys[0] && toHex(t.keys[0])).toBe(LEGACY_HEX);
    const f = combineKeySources({ keyringFile: file });
    expect(f.ok && f.keys.map((k) => k.length)).toEqual([32, 16]);
  });
  it('keyTextSize is honoured', () => {
    const r = combineKeySources({ keyText: 'abc', keyTextSize: 32 });
    expect(r.ok && r.keys[0]?.length).toBe(32);
  });
  it('each failure names its source; an empty string counts as given', () => {
    expect(combineKeySources({ key: '' })).toMatchObject({ ok: false, code: 'EMPTY', detail: /^--key:/ });
    expect(combineKeySources({ keyText: 'x'.repeat(40) })).toMatchObject({
      code: 'TOO_LONG',
      detail: /^--key-text:/,
    });
    expect(combineKeySources({ keyringFile: '[]' })).toMatchObject({
      code: 'EMPTY_KEYRING',
      detail: /^--keyring-file:/,
    });
    expect(combineKeySources({ key: b64(16), keyringFile: 'oops' })).toMatchObject({ code: 'BAD_JSON' });
  });
});

describe('Keyring', () => {
  const k1 = new Uint8Array(16).fill(1);
  const k2 = new Uint8Array(24).fill(2);
  const k3 = new Uint8Array(32).fill(3);

  it('validateKey: 16/24/32 only', () => {
    expect([15, 16, 20, 24, 32, 33, 0].map((n) => validateKey(new Uint8Array(n))?.code ?? 'ok')).toEqual([
      'BAD_KEY_SIZE',
      'ok',
      'BAD_KEY_SIZE',
      'ok',
      'ok',
      'BAD_KEY_SIZE',
      'BAD_KEY_SIZE',
    ]);
  });
  it('create: empty ring is disabled; with keys the first is primary; with primary it goes first', () => {
    const empty = Keyring.create([]);
    expect(empty.ok && empty.keyring.enabled).toBe(false);
    expect(empty.ok && empty.keyring.primary).toBeUndefined();
    const r = Keyring.create([k1, k2]);
    expect(r.ok && r.keyring.primary && toHex(r.keyring.primary)).toBe(toHex(k1));
    const p = Keyring.create([k1, k2], k3);
    expect(p.ok && p.keyring.keys.map((k) => k.length)).toEqual([32, 16, 24]);
    const q = Keyring.create([k1, k2], k2);
    expect(q.ok && q.keyring.keys.map((k) => k.length)).toEqual([24, 16]);
    expect(Keyring.create([k1, new Uint8Array(5)])).toMatchObject({ ok: false, code: 'BAD_KEY_SIZE' });
  });
  it('install → use → remove; the primary cannot be removed; unknown keys cannot be used', () => {
    const ring = new Keyring();
    expect(ring.removeKey(k1)).toMatchObject({ ok: false, code: 'EMPTY_KEYRING' });
    expect(ring.addKey(k1).ok).toBe(true);
    expect(ring.enabled).toBe(true);
    const v = ring.version;
    expect(ring.addKey(k1).ok).toBe(true); // no-op
    expect(ring.version).toBe(v);
    expect(ring.useKey(k2)).toMatchObject({ ok: false, code: 'KEY_NOT_INSTALLED' });
    expect(ring.addKey(k2).ok).toBe(true);
    expect(ring.size).toBe(2);
    expect(ring.primary && toHex(ring.primary)).toBe(toHex(k1));
    expect(ring.useKey(k2).ok).toBe(true);
    expect(ring.primary && toHex(ring.primary)).toBe(toHex(k2));
    expect(ring.removeKey(k2)).toMatchObject({ ok: false, code: 'REMOVE_PRIMARY' });
    expect(ring.removeKey(k3).ok).toBe(true); // not installed: no-op, as in Go
    expect(ring.removeKey(k1).ok).toBe(true);
    expect(ring.keys.map(toHex)).toEqual([toHex(k2)]);
    expect(ring.has(k1)).toBe(false);
    expect(ring.addKey(new Uint8Array(7))).toMatchObject({ ok: false, code: 'BAD_KEY_SIZE' });
    expect(ring.version).toBeGreaterThan(v);
  });
  it('keys are copied in and out', () => {
    const k = new Uint8Array(16).fill(4);
    const ring = new Keyring();
    ring.addKey(k);
    k.fill(0);
    const out = ring.keys[0] as Uint8Array;
    out.fill(9);
    expect(ring.primary?.[0]).toBe(4);
  });
});
