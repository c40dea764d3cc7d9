// Parsing of gossip encryption keys from operator input (docs/wire.md §9; docs/architecture.md "Keys").
// Three forms, all producing raw AES keys of 16, 24 or 32 bytes (AES-128/192/256):
//
//   --key <base64>         Serf/Consul convention (`consul keygen`): standard base64 (RFC 4648 §4,
//                          `+/`, `=` padding required) of exactly 16, 24 or 32 bytes. Surrounding
//                          whitespace is trimmed (a trailing newline from a file or env var is
//                          common); inner whitespace, URL-safe characters and missing padding are
//                          refused, because Go's base64.StdEncoding refuses them and a key that
//                          works here must work in Consul/Serf tooling too.
//   --key-text <secret>    the legacy program's form: printable ASCII (0x20..0x7e), zero-padded on
//                          the right to `size` bytes. size is 16, 24 or 32 and DEFAULTS TO 24
//                          (AES-192): the legacy key is ASCII `clustersecret` padded to 24 bytes,
//                          and "the smallest size that fits" would silently pick 16 for it and
//                          never interoperate. A secret longer than `size` is refused (never
//                          truncated). NUL and other control characters are refused: a trailing NUL
//                          would be indistinguishable from padding.
//   --keyring-file <path>  Consul's keyring file: a JSON array of base64 keys, the first is the
//                          primary (encrypts), the rest only decrypt. Duplicates are dropped (as
//                          memberlist AddKey does). This module parses the file's TEXT; reading it
//                          is the caller's job (pure code).
//
// combineKeySources merges the three: the primary is --key if given, else --key-text, else the
// file's first key; every other distinct key is installed after it, in the order key, key-text,
// file. That allows a rolling rotation (new key primary, old key still accepted) from flags alone.
//
// Every failure is a value {ok:false, code, detail}; nothing here throws. Details never echo the
// secret itself (they may end up in logs).

export type KeySize = 16 | 24 | 32;
/** Pad target of --key-text when none is given: AES-192, the legacy program's key size. */
export const DEFAULT_KEY_TEXT_SIZE: KeySize = 24;

type KeyParseErrorCode =
  | 'EMPTY'
  | 'BAD_BASE64'
  | 'BAD_KEY_SIZE'
  | 'BAD_CHARACTER'
  | 'TOO_LONG'
  | 'BAD_JSON'
  | 'NOT_AN_ARRAY'
  | 'EMPTY_KEYRING'
  | 'NO_KEYS';

interface KeyParseError {
  code: KeyParseErrorCode;
  detail: string;
}

export type KeyParse = { ok: true; key: Uint8Array } | ({ ok: false } & KeyParseError);
export type KeysParse = { ok: true; keys: Uint8Array[] } | ({ ok: false } & KeyParseError);

const fail = (code: KeyParseErrorCode, detail: string): { ok: false } & KeyParseError => ({
  ok: false,
  code,
  detail,
});

export function isKeySize(n: number): n is KeySize {
  return n === 16 || n === 24 || n === 32;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 (standard alphabet, padded) of a 16/24/32-byte key. */
export function parseKeyBase64(text: string): KeyParse {
  const s = text.trim();
  if (s === '') return fail('EMPTY', 'the key is empty');
  if (!BASE64.test(s))
    return fail('BAD_BASE64', 'the key is not valid standard base64 (A-Z a-z 0-9 + / with = padding)');
  const bytes = Buffer.from(s, 'base64');
  // Non-canonical trailing bits (e.g. "AB==" vs "AA==") decode but do not round-trip; Go's strict
  // decoder accepts them, so only the length matters here.
  if (!isKeySize(bytes.length))
    return fail('BAD_KEY_SIZE', `the key decodes to ${bytes.length} bytes; expected 16, 24 or 32`);
  return { ok: true, key: new Uint8Array(bytes) };
}

/** A printable-ASCII secret zero-padded to `size` bytes (24 by default, the legacy form). */
export function parseKeyText(text: string, size: number = DEFAULT_KEY_TEXT_SIZE): KeyParse {
  if (!isKeySize(size)) return fail('BAD_KEY_SIZE', `key text size ${size}; expected 16, 24 or 32`);
  if (text.length === 0) return fail('EMPTY', 'the key text is empty');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e)
      return fail(
        'BAD_CHARACTER',
        `the key text has a non-printable or non-ASCII character at position ${i}`,
      );
  }
  if (text.length > size)
    return fail(
      'TOO_LONG',
      `the key text is ${text.length} characters; at most ${size} for a ${size}-byte key`,
    );
  const key = new Uint8Array(size);
  for (let i = 0; i < text.length; i++) key[i] = text.charCodeAt(i);
  return { ok: true, key };
}

/** Consul's keyring file: a JSON array of base64 keys, primary first; duplicates dropped. */
export function parseKeyringFile(text: string): KeysParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail('BAD_JSON', `the keyring file is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(value))
    return fail('NOT_AN_ARRAY', 'the keyring file must be a JSON array of base64 keys');
  if (value.length === 0) return fail('EMPTY_KEYRING', 'the keyring file holds no keys');
  const keys: Uint8Array[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string') return fail('BAD_BASE64', `keyring entry ${i} is not a string`);
    const k = parseKeyBase64(item);
    if (!k.ok) return fail(k.code, `keyring entry ${i}: ${k.detail}`);
    addDistinct(keys, k.key);
  }
  return { ok: true, keys };
}

export interface KeySources {
  /** --key (base64). */
  key?: string | undefined;
  /** --key-text (ASCII secret). */
  keyText?: string | undefined;
  /** Pad target of keyText (16/24/32); 24 by default. */
  keyTextSize?: number | undefined;
  /** Contents of the --keyring-file (not its path). */
  keyringFile?: string | undefined;
}

/**
 * Keys from every given source, primary first (key, then key-text, then the file's order), or
 * {ok:true, keys: []} when no source is given (encryption off). An empty string counts as given
 * (and fails with EMPTY): an operator who set the variable meant to encrypt.
 */
export function combineKeySources(sources: KeySources): KeysParse {
  const keys: Uint8Array[] = [];
  if (sources.key !== undefined) {
    const k = parseKeyBase64(sources.key);
    if (!k.ok) return fail(k.code, `--key: ${k.detail}`);
    addDistinct(keys, k.key);
  }
  if (sources.keyText !== undefined) {
    const k = parseKeyText(sources.keyText, sources.keyTextSize ?? DEFAULT_KEY_TEXT_SIZE);
    if (!k.ok) return fail(k.code, `--key-text: ${k.detail}`);
    addDistinct(keys, k.key);
  }
  if (sources.keyringFile !== undefined) {
    const f = parseKeyringFile(sources.keyringFile);
    if (!f.ok) return fail(f.code, `--keyring-file: ${f.detail}`);
    for (const k of f.keys) addDistinct(keys, k);
  }
  return { ok: true, keys };
}

/** Standard padded base64 of a key (the form --key and the keyring file take). */
export function formatKeyBase64(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

/** Consul's keyring file text for `keys` (primary first). */
export function formatKeyringFile(keys: readonly Uint8Array[]): string {
  return `${JSON.stringify(keys.map(formatKeyBase64))}\n`;
}

export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addDistinct(keys: Uint8Array[], key: Uint8Array): void {
  if (!keys.some((k) => keysEqual(k, key))) keys.push(key);
}
