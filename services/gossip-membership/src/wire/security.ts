// AES-GCM encryption compatible with memberlist (`security.go`, `net.go` ingestPacket /
// rawSendMsgPacket / encryptLocalState / decryptRemoteState; docs/wire.md §6.1, §7.2, §9).
//
// Sealed payload:  [vsn u8][nonce 12][GCM ciphertext || tag 16]
//   vsn 0: the plaintext is PKCS7-padded to a multiple of 16 first (1..16 bytes of value n; a full
//          block when already aligned) → length 1 + 12 + len + pad + 16. Receivers strip `last
//          byte` bytes. Go sends 0 only when its ProtocolVersion is 1 (encryptionVersionFor).
//   vsn 1: no padding → length 1 + 12 + len + 16.
//   Minimum sealed length: 45 (vsn 0) / 29 (vsn 1); vsn > 1 is refused. The key length picks
//   AES-128/192/256. Budget overhead (encryptOverhead): 45 / 29 bytes.
// Additional data (AD):
//   UDP     the label bytes (empty without a label); NO type byte. The label header
//           [244][len][label] goes OUTSIDE the sealed bytes (label.ts adds it).
//   stream  [10][L u32 BE] + the label bytes, where L = sealed length; the frame on the wire is
//           [10][L][sealed] (after the label header when dialling).
// Open tries every key of the ring, primary first (memberlist decryptPayload).
//
// GossipVerifyIncoming / GossipVerifyOutgoing (both true by default) as pure decisions:
//   incoming  keyring empty → plaintext as is. Else open; if that fails, verifyIncoming=true
//             rejects the packet, false treats the bytes as plaintext (UDP: ingestPacket). On a
//             stream, an unencrypted frame is refused only when verifyIncoming is true.
//   outgoing  seal iff the ring has a key AND verifyOutgoing (then the budget loses the overhead).
// Transition plan (memberlist TestMemberlist_EncryptedGossipTransition): install keys with
// verifyIncoming=false/verifyOutgoing=false, then turn outgoing on everywhere, then incoming.
//
// Pure apart from node:crypto, which is deterministic given the nonce; the nonce source is
// injectable (randomNonce by default, fixedNonce for tests). Failures are values with a code.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from '../keyring/keyring.js';
import type { Cipher } from './cipher.js';

export type EncryptionVersion = 0 | 1;

const VERSION_SIZE = 1;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOCK_SIZE = 16;
/** memberlist encryptMsg: the type byte of an encrypted stream frame. */
const ENCRYPT_MSG_TYPE = 10;
/** memberlist maxPushStateBytes: the largest sealed stream payload accepted, bytes. */
const MAX_SEALED_STREAM_BYTES = 20 * 1024 * 1024;

/** 12 fresh bytes per call. */
export type NonceSource = () => Uint8Array;

export const randomNonce: NonceSource = () => randomBytes(NONCE_SIZE);

/** Always the same nonce: ONLY for tests and vectors (a repeated GCM nonce leaks the key stream). */
export function fixedNonce(nonce: Uint8Array): NonceSource {
  if (nonce.length !== NONCE_SIZE) throw new RangeError(`nonce must be ${NONCE_SIZE} bytes`);
  return () => nonce.slice();
}

/** memberlist encryptionVersion(): 0 (padded) for protocol version 1, 1 otherwise. */
export function encryptionVersionFor(protocolVersion: number): EncryptionVersion {
  return protocolVersion === 1 ? 0 : 1;
}

/** memberlist encryptOverhead: the most a sealed payload adds (45 for vsn 0, 29 for vsn 1). */
export function encryptOverhead(vsn: EncryptionVersion): number {
  return vsn === 0 ? VERSION_SIZE + NONCE_SIZE + BLOCK_SIZE + TAG_SIZE : VERSION_SIZE + NONCE_SIZE + TAG_SIZE;
}

/** memberlist encryptedLength: exact sealed length for `plainLength` bytes. */
export function encryptedLength(vsn: EncryptionVersion, plainLength: number): number {
  const pad = vsn === 0 ? BLOCK_SIZE - (plainLength % BLOCK_SIZE) : 0;
  return VERSION_SIZE + NONCE_SIZE + plainLength + pad + TAG_SIZE;
}

type SecurityErrorCode =
  | 'EMPTY'
  | 'UNSUPPORTED_VERSION'
  | 'TOO_SHORT'
  | 'NO_KEYS'
  | 'DECRYPT_FAILED'
  | 'BAD_PADDING'
  | 'BAD_KEY_SIZE'
  | 'BAD_NONCE'
  | 'NOT_ENCRYPTED'
  | 'BAD_LENGTH'
  | 'TOO_LARGE';

export interface SecurityError {
  code: SecurityErrorCode;
  detail: string;
}

export type SealResult = { ok: true; sealed: Uint8Array } | ({ ok: false } & SecurityError);
export type OpenResult =
  | { ok: true; plaintext: Uint8Array /** index of the key that opened it */; keyIndex: number }
  | ({ ok: false } & SecurityError);

const fail = (code: SecurityErrorCode, detail: string): { ok: false } & SecurityError => ({
  ok: false,
  code,
  detail,
});

function algorithm(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' | undefined {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      return undefined;
  }
}

/** memberlist encryptPayload with an explicit nonce: [vsn][nonce][ciphertext||tag]. */
export function encryptPayload(
  vsn: EncryptionVersion,
  key: Uint8Array,
  plaintext: Uint8Array,
  additionalData: Uint8Array,
  nonce: Uint8Array,
): SealResult {
  const alg = algorithm(key);
  if (alg === undefined)
    return fail('BAD_KEY_SIZE', `key size must be 16, 24 or 32 bytes, not ${key.length}`);
  if (nonce.length !== NONCE_SIZE) return fail('BAD_NONCE', `nonce must be ${NONCE_SIZE} bytes`);
  let src = plaintext;
  if (vsn === 0) {
    const pad = BLOCK_SIZE - (plaintext.length % BLOCK_SIZE);
    src = new Uint8Array(plaintext.length + pad);
    src.set(plaintext);
    src.fill(pad, plaintext.length);
  }
  const c = createCipheriv(alg, key, nonce, { authTagLength: TAG_SIZE });
  c.setAAD(additionalData);
  const head = VERSION_SIZE + NONCE_SIZE;
  const out = new Uint8Array(head + src.length + TAG_SIZE);
  out[0] = vsn;
  out.set(nonce, VERSION_SIZE);
  const body = c.update(src);
  const final = c.final();
  out.set(body, head);
  out.set(final, head + body.length);
  out.set(c.getAuthTag(), head + src.length);
  return { ok: true, sealed: out };
}

/** Opens with one key; null when authentication fails. */
function openWith(key: Uint8Array, sealed: Uint8Array, additionalData: Uint8Array): Uint8Array | null {
  const alg = algorithm(key);
  if (alg === undefined) return null;
  const nonce = sealed.subarray(VERSION_SIZE, VERSION_SIZE + NONCE_SIZE);
  const ct = sealed.subarray(VERSION_SIZE + NONCE_SIZE, sealed.length - TAG_SIZE);
  const tag = sealed.subarray(sealed.length - TAG_SIZE);
  try {
    const d = createDecipheriv(alg, key, nonce, { authTagLength: TAG_SIZE });
    d.setAAD(additionalData);
    d.setAuthTag(tag);
    const a = d.update(ct);
    const b = d.final(); // throws on a bad tag
    if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  } catch {
    return null;
  }
}

/** memberlist decryptPayload: tries every key in order; padding removed for vsn 0. */
export function decryptPayload(
  keys: readonly Uint8Array[],
  sealed: Uint8Array,
  additionalData: Uint8Array,
): OpenResult {
  const v = sealed[0];
  if (v === undefined) return fail('EMPTY', 'cannot decrypt empty payload');
  if (v > 1) return fail('UNSUPPORTED_VERSION', `unsupported encryption version ${v}`);
  const vsn = v as EncryptionVersion;
  if (sealed.length < encryptedLength(vsn, 0))
    return fail('TOO_SHORT', `payload is too small to decrypt: ${sealed.length}`);
  if (keys.length === 0) return fail('NO_KEYS', 'no keys installed');
  for (let i = 0; i < keys.length; i++) {
    const plain = openWith(keys[i] as Uint8Array, sealed, additionalData);
    if (plain === null) continue;
    if (vsn === 1) return { ok: true, plaintext: plain, keyIndex: i };
    // Go strips `last` bytes without further checks (and would panic past the start); the tag
    // already authenticated the sender, so only impossible lengths are refused here.
    const last = plain[plain.length - 1] ?? 0;
    if (last > plain.length) return fail('BAD_PADDING', `padding of ${last} bytes in ${plain.length}`);
    return { ok: true, plaintext: plain.subarray(0, plain.length - last), keyIndex: i };
  }
  return fail('DECRYPT_FAILED', 'no installed keys could decrypt the message');
}

export interface SecurityOptions {
  /** Encryption version of what we send; 1 by default (encryptionVersionFor(protocolVersion)). */
  version?: EncryptionVersion;
  /** Source of nonces; randomNonce by default. */
  nonce?: NonceSource;
}

/**
 * The Cipher hook of packet.ts / stream.ts backed by a keyring: seals with the CURRENT primary,
 * opens with every key. seal() on an empty ring throws (a wiring error: don't pass a cipher when
 * !keyring.enabled); open() never throws.
 */
export function createCipher(keyring: Keyring, options: SecurityOptions = {}): Cipher {
  const vsn = options.version ?? 1;
  const nonce = options.nonce ?? randomNonce;
  return {
    sealedLength: (n) => encryptedLength(vsn, n),
    seal(plaintext, additionalData) {
      const key = keyring.primary;
      if (key === undefined) throw new Error('keyring is empty: encryption is not enabled');
      const r = encryptPayload(vsn, key, plaintext, additionalData, nonce());
      if (!r.ok) throw new Error(r.detail);
      return r.sealed;
    },
    open(sealed, additionalData) {
      const r = decryptPayload(keyring.keysView, sealed, additionalData);
      return r.ok ? { ok: true, plaintext: r.plaintext } : { ok: false, detail: `${r.code}: ${r.detail}` };
    },
  };
}

// ---- framing helpers (the same layout packet.ts / stream.ts build through the Cipher hook) ----

const NO_LABEL = new Uint8Array(0);

/** UDP: the sealed packet body (no type byte; AD = label bytes). The label header goes outside. */
export function sealPacket(
  plaintext: Uint8Array,
  keyring: Keyring,
  options: SecurityOptions & { label?: Uint8Array } = {},
): SealResult {
  const key = keyring.primary;
  if (key === undefined) return fail('NO_KEYS', 'no keys installed');
  const nonce = (options.nonce ?? randomNonce)();
  return encryptPayload(options.version ?? 1, key, plaintext, options.label ?? NO_LABEL, nonce);
}

/** Stream: the whole encrypted frame [10][L u32 BE][sealed], AD = [10][L] + label. */
export function sealStreamFrame(
  plaintext: Uint8Array,
  keyring: Keyring,
  options: SecurityOptions & { label?: Uint8Array } = {},
): SealResult {
  const key = keyring.primary;
  if (key === undefined) return fail('NO_KEYS', 'no keys installed');
  const vsn = options.version ?? 1;
  const label = options.label ?? NO_LABEL;
  const len = encryptedLength(vsn, plaintext.length);
  const ad = new Uint8Array(5 + label.length);
  ad[0] = ENCRYPT_MSG_TYPE;
  new DataView(ad.buffer).setUint32(1, len);
  ad.set(label, 5);
  const r = encryptPayload(vsn, key, plaintext, ad, (options.nonce ?? randomNonce)());
  if (!r.ok) return r;
  const out = new Uint8Array(5 + r.sealed.length);
  out.set(ad.subarray(0, 5));
  out.set(r.sealed, 5);
  return { ok: true, sealed: out };
}

/**
 * Stream: opens a whole encrypted frame [10][L][sealed] (label header already removed).
 * `consumed` = 5 + L; bytes after it belong to nobody (memberlist reads exactly L).
 */
export function openStreamFrame(
  frame: Uint8Array,
  keyring: Keyring,
  label: Uint8Array = NO_LABEL,
): (OpenResult & { consumed?: number }) | ({ ok: false } & SecurityError) {
  if (frame.length === 0) return fail('EMPTY', 'empty stream frame');
  if (frame[0] !== ENCRYPT_MSG_TYPE)
    return fail('NOT_ENCRYPTED', `frame type ${frame[0]} is not encrypt (10)`);
  if (frame.length < 5) return fail('BAD_LENGTH', 'frame ends inside its length');
  const len = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
  if (len > MAX_SEALED_STREAM_BYTES)
    return fail('TOO_LARGE', `remote node state of ${len} bytes is larger than the limit`);
  if (frame.length < 5 + len)
    return fail('BAD_LENGTH', `frame announces ${len} bytes, has ${frame.length - 5}`);
  const ad = new Uint8Array(5 + label.length);
  ad.set(frame.subarray(0, 5));
  ad.set(label, 5);
  const r = decryptPayload(keyring.keysView, frame.subarray(5, 5 + len), ad);
  return r.ok ? { ...r, consumed: 5 + len } : r;
}

export interface VerifyOptions {
  /** memberlist GossipVerifyIncoming (default true): refuse what does not decrypt. */
  verifyIncoming?: boolean;
  /** UDP label bytes (the AD). */
  label?: Uint8Array;
}

export type IncomingResult =
  | { ok: true; plaintext: Uint8Array; encrypted: boolean }
  | ({ ok: false } & SecurityError);

/**
 * The UDP receive decision (memberlist ingestPacket), label header already removed: an empty
 * ring passes the bytes through; otherwise open, and on failure accept the bytes as plaintext
 * only when verifyIncoming is false.
 */
export function decodeIncoming(
  packet: Uint8Array,
  keyring: Keyring,
  options: VerifyOptions = {},
): IncomingResult {
  if (!keyring.enabled) return { ok: true, plaintext: packet, encrypted: false };
  const r = decryptPayload(keyring.keysView, packet, options.label ?? NO_LABEL);
  if (r.ok) return { ok: true, plaintext: r.plaintext, encrypted: true };
  if (options.verifyIncoming === false) return { ok: true, plaintext: packet, encrypted: false };
  return r;
}

/**
 * The stream receive decision (memberlist readStream) for a frame whose first byte is `type`:
 * 'decrypt' for an encrypt (10) frame when a key is installed, 'plain' to parse as is, or an
 * error: encrypted without keys, or plaintext while verifyIncoming.
 */
export function streamIncomingPolicy(
  type: number,
  keyring: Keyring,
  options: { verifyIncoming?: boolean } = {},
): { ok: true; action: 'decrypt' | 'plain' } | ({ ok: false } & SecurityError) {
  if (type === ENCRYPT_MSG_TYPE) {
    return keyring.enabled
      ? { ok: true, action: 'decrypt' }
      : fail('NO_KEYS', 'Remote state is encrypted and encryption is not configured');
  }
  if (keyring.enabled && options.verifyIncoming !== false)
    return fail('NOT_ENCRYPTED', 'Encryption is configured but remote state is not encrypted');
  return { ok: true, action: 'plain' };
}

/** Whether we seal what we send (EncryptionEnabled && GossipVerifyOutgoing). */
export function shouldEncryptOutgoing(keyring: Keyring, options: { verifyOutgoing?: boolean } = {}): boolean {
  return keyring.enabled && options.verifyOutgoing !== false;
}

/**
 * What to hand packet.ts / stream.ts and the engine for a keyring and the two switches:
 *   decode  {cipher, allowPlaintext}   for decodePacket / parseStreamFrame
 *   encode  {cipher}                   for encodePacket / wrapPacket / encodeStreamFrame
 *   packetOverhead                      for EngineOptions.packetOverhead (add the label's 2+len)
 * cipher is undefined when the ring is empty (plaintext cluster).
 */
export function codecSecurity(
  keyring: Keyring,
  options: SecurityOptions & { verifyIncoming?: boolean; verifyOutgoing?: boolean } = {},
): {
  decode: { cipher?: Cipher; allowPlaintext: boolean };
  encode: { cipher?: Cipher };
  packetOverhead: number;
} {
  if (!keyring.enabled) return { decode: { allowPlaintext: true }, encode: {}, packetOverhead: 0 };
  const cipher = createCipher(keyring, options);
  const out = shouldEncryptOutgoing(keyring, options);
  return {
    decode: { cipher, allowPlaintext: options.verifyIncoming === false },
    encode: out ? { cipher } : {},
    packetOverhead: out ? encryptOverhead(options.version ?? 1) : 0,
  };
}
