// security.ts: AES-GCM byte-exact against Go (fixtures/encryption-go.json, sealed by Go's
// crypto/aes + cipher.NewGCM following memberlist security.go with fixed nonces) in both
// directions (fixtures/encryption-ts-go-verified.json: sealed here, opened by the same Go code),
// versions 0 and 1, 16/24/32-byte keys, UDP and stream framing with and without a label; the
// keyring on open; wrong keys and damaged payloads as error values; the verify switches; and the
// Cipher hook plugged into packet.ts / stream.ts. test/fixture-gen/gen.sh regenerates encryption-go.json
// and re-opens the TS-sealed vectors with memberlist's decryptPayload (docs/wire.md §18).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../src/keyring/keyring.js';
import type { Message } from '../src/protocol/messages.js';
import { addLabel, removeLabel } from '../src/wire/label.js';
import { decodePacket, wrapPacket } from '../src/wire/packet.js';
import {
  codecSecurity,
  createCipher,
  decodeIncoming,
  decryptPayload,
  type EncryptionVersion,
  encryptedLength,
  encryptionVersionFor,
  encryptOverhead,
  encryptPayload,
  fixedNonce,
  openStreamFrame,
  randomNonce,
  sealPacket,
  sealStreamFrame,
  shouldEncryptOutgoing,
  streamIncomingPolicy,
} from '../src/wire/security.js';
import { encodeStreamFrame, parseStreamFrame } from '../src/wire/stream.js';

interface Vector {
  name: string;
  kind: 'udp' | 'stream';
  vsn: EncryptionVersion;
  key: string;
  nonce: string;
  label: string;
  plaintext: string;
  sealed: string;
}

const load = (file: string) =>
  (JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')) as { vectors: Vector[] })
    .vectors;
const GO = load('encryption-go.json');
const TS_GO = load('encryption-ts-go-verified.json');
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (s: string) => new TextEncoder().encode(s);

function ringOf(...keys: Uint8Array[]): Keyring {
  const r = Keyring.create(keys);
  if (!r.ok) throw new Error(r.detail);
  return r.keyring;
}

/** Splits a Go vector's wire bytes into [label, sealed-or-frame]. */
function unwrap(v: Vector): { label: Uint8Array; body: Uint8Array } {
  const split = removeLabel(hex(v.sealed));
  if (!split.ok) throw new Error('bad label in fixture');
  return { label: split.label, body: split.rest };
}

describe('fixtures', () => {
  it('cover versions 0 and 1, every key size, both framings, labels', () => {
    for (const set of [GO, TS_GO]) {
      expect(new Set(set.map((v) => v.vsn))).toEqual(new Set([0, 1]));
      expect(new Set(set.map((v) => v.key.length / 2))).toEqual(new Set([16, 24, 32]));
      expect(new Set(set.map((v) => v.kind))).toEqual(new Set(['udp', 'stream']));
      expect(set.some((v) => v.label !== '')).toBe(true);
    }
    expect(GO).toHaveLength(96);
    expect(TS_GO).toHaveLength(96);
  });
});

describe('Go-sealed vectors', () => {
  it.each(GO.map((v) => [v.name, v] as const))('%s: sealed byte-exact, opened, sized', (_, v) => {
    const key = hex(v.key);
    const plain = hex(v.plaintext);
    const label = text(v.label);
    const ring = ringOf(key);
    const opts = { version: v.vsn, nonce: fixedNonce(hex(v.nonce)), label };
    const { body } = unwrap(v);
    if (v.kind === 'udp') {
      const s = sealPacket(plain, ring, opts);
      expect(s.ok && toHex(addLabel(s.sealed, label))).toBe(v.sealed);
      expect(body.length).toBe(encryptedLength(v.vsn, plain.length));
      const o = decryptPayload([key], body, label);
      expect(o.ok && toHex(o.plaintext)).toBe(v.plaintext);
    } else {
      const s = sealStreamFrame(plain, ring, opts);
      expect(s.ok && toHex(addLabel(s.sealed, label))).toBe(v.sealed);
      const o = openStreamFrame(body, ring, label);
      expect(o.ok && toHex(o.plaintext)).toBe(v.plaintext);
      expect(o.ok && o.consumed).toBe(body.length);
    }
  });
});

describe('TS-sealed vectors (verified by Go)', () => {
  it.each(TS_GO.map((v) => [v.name, v] as const))('%s: still sealed byte-exact and opens', (_, v) => {
    const key = hex(v.key);
    const plain = hex(v.plaintext);
    const label = text(v.label);
    const ring = ringOf(key);
    const opts = { version: v.vsn, nonce: fixedNonce(hex(v.nonce)), label };
    const s = v.kind === 'udp' ? sealPacket(plain, ring, opts) : sealStreamFrame(plain, ring, opts);
    expect(s.ok && toHex(s.sealed)).toBe(v.sealed);
    const o =
      v.kind === 'udp'
        ? decryptPayload([key], hex(v.sealed), label)
        : openStreamFrame(hex(v.sealed), ring, label);
    expect(o.ok && toHex(o.plaintext)).toBe(v.plaintext);
  });
});

describe('errors are values', () => {
  const v = GO.find((x) => x.name === 'udp-k16-v1--ack') as Vector;
  const key = hex(v.key);
  const sealed = hex(v.sealed);
  const other = text('fedcba9876543210');

  it('wrong key → DECRYPT_FAILED, never a throw', () => {
    const r = decryptPayload([other, text('x'.repeat(32))], sealed, new Uint8Array(0));
    expect(r).toMatchObject({ ok: false, code: 'DECRYPT_FAILED' });
  });
  it('wrong label (AD) → DECRYPT_FAILED', () => {
    expect(decryptPayload([key], sealed, text('lbl'))).toMatchObject({ ok: false, code: 'DECRYPT_FAILED' });
  });
  it('flipped bit in ciphertext, nonce or tag → DECRYPT_FAILED', () => {
    for (const at of [1, 13, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at] = (bad[at] as number) ^ 1;
      expect(decryptPayload([key], bad, new Uint8Array(0))).toMatchObject({
        ok: false,
        code: 'DECRYPT_FAILED',
      });
    }
  });
  it('empty, unknown version, too short', () => {
    expect(decryptPayload([key], new Uint8Array(0), new Uint8Array(0))).toMatchObject({ code: 'EMPTY' });
    const v2 = sealed.slice();
    v2[0] = 2;
    expect(decryptPayload([key], v2, new Uint8Array(0))).toMatchObject({ code: 'UNSUPPORTED_VERSION' });
    expect(decryptPayload([key], sealed.subarray(0, 28), new Uint8Array(0))).toMatchObject({
      code: 'TOO_SHORT',
    });
    // version 0 needs 45 bytes: a 44-byte vsn-0 payload is refused before any key is tried
    const v0 = new Uint8Array(44);
    expect(decryptPayload([key], v0, new Uint8Array(0))).toMatchObject({ code: 'TOO_SHORT' });
  });
  it('no keys → NO_KEYS; bad key size and nonce on seal', () => {
    expect(decryptPayload([], sealed, new Uint8Array(0))).toMatchObject({ code: 'NO_KEYS' });
    expect(encryptPayload(1, text('short'), text('x'), new Uint8Array(0), new Uint8Array(12))).toMatchObject({
      ok: false,
      code: 'BAD_KEY_SIZE',
    });
    expect(encryptPayload(1, key, text('x'), new Uint8Array(0), new Uint8Array(11))).toMatchObject({
      ok: false,
      code: 'BAD_NONCE',
    });
    expect(sealPacket(text('x'), new Keyring())).toMatchObject({ ok: false, code: 'NO_KEYS' });
    expect(sealStreamFrame(text('x'), new Keyring())).toMatchObject({ ok: false, code: 'NO_KEYS' });
  });
  it('vsn 0 with impossible padding (authenticated, so only from a key holder) → BAD_PADDING', () => {
    // 32 bytes ending in 200, sealed as version 1 and relabelled 0 (the version byte is not in the AD)
    const s2 = encryptPayload(1, key, new Uint8Array(32).fill(200), new Uint8Array(0), new Uint8Array(12));
    if (!s2.ok) throw new Error('seal');
    s2.sealed[0] = 0;
    expect(decryptPayload([key], s2.sealed, new Uint8Array(0))).toMatchObject({
      ok: false,
      code: 'BAD_PADDING',
    });
  });
  it('stream frames: not encrypted, short, truncated, over the limit, wrong key', () => {
    const ring = ringOf(key);
    expect(openStreamFrame(new Uint8Array(0), ring)).toMatchObject({ code: 'EMPTY' });
    expect(openStreamFrame(Uint8Array.of(2, 0), ring)).toMatchObject({ code: 'NOT_ENCRYPTED' });
    expect(openStreamFrame(Uint8Array.of(10, 0, 0), ring)).toMatchObject({ code: 'BAD_LENGTH' });
    expect(openStreamFrame(Uint8Array.of(10, 0, 0, 0, 40, 1), ring)).toMatchObject({ code: 'BAD_LENGTH' });
    expect(openStreamFrame(Uint8Array.of(10, 2, 0, 0, 0), ring)).toMatchObject({ code: 'TOO_LARGE' });
    const frame = unwrap(GO.find((x) => x.name === 'stream-k16-v1--ack') as Vector).body;
    expect(openStreamFrame(frame, ringOf(other))).toMatchObject({ ok: false, code: 'DECRYPT_FAILED' });
    // the length is part of the AD: a frame whose header was altered does not open
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    longer[4] = (longer[4] as number) + 1;
    expect(openStreamFrame(longer, ring)).toMatchObject({ ok: false, code: 'DECRYPT_FAILED' });
  });
});

describe('keyring on open, primary on seal', () => {
  const k1 = text('0123456789abcdef');
  const k2 = text('abcdefghijklmnopqrstuvwx');
  const k3 = text('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');

  it('every installed key opens; the primary seals; keyIndex says which', () => {
    const ring = ringOf(k2, k1, k3);
    const byK1 = encryptPayload(1, k1, text('hello'), new Uint8Array(0), new Uint8Array(12));
    if (!byK1.ok) throw new Error('seal');
    expect(decryptPayload(ring.keysView, byK1.sealed, new Uint8Array(0))).toMatchObject({
      ok: true,
      keyIndex: 1,
    });
    const mine = sealPacket(text('hello'), ring);
    if (!mine.ok) throw new Error('seal');
    expect(decryptPayload([k2], mine.sealed, new Uint8Array(0)).ok).toBe(true);
    expect(decryptPayload([k1, k3], mine.sealed, new Uint8Array(0)).ok).toBe(false);
  });

  it('rotation: install → use → remove keeps a two-node conversation working at every step', () => {
    const a = ringOf(k1);
    const b = ringOf(k1);
    const talk = (from: Keyring, to: Keyring) => {
      const s = sealPacket(text('ping'), from);
      return s.ok && decodeIncoming(s.sealed, to).ok;
    };
    expect(talk(a, b) && talk(b, a)).toBe(true);
    a.addKey(k2);
    b.addKey(k2);
    expect(talk(a, b) && talk(b, a)).toBe(true);
    a.useKey(k2); // a seals with k2; b (still primary k1) opens with its second key
    expect(talk(a, b) && talk(b, a)).toBe(true);
    b.useKey(k2);
    expect(a.removeKey(k1).ok && b.removeKey(k1).ok).toBe(true);
    expect(talk(a, b) && talk(b, a)).toBe(true);
    const c = ringOf(k1); // a node that missed the rotation is cut off
    expect(talk(a, c)).toBe(false);
  });

  it('createCipher follows the ring live (rotation applies to the next seal)', () => {
    const ring = ringOf(k1);
    const cipher = createCipher(ring, { nonce: fixedNonce(new Uint8Array(12)) });
    const s1 = cipher.seal(text('x'), new Uint8Array(0));
    ring.addKey(k2);
    ring.useKey(k2);
    const s2 = cipher.seal(text('x'), new Uint8Array(0));
    expect(toHex(s1)).not.toBe(toHex(s2));
    expect(cipher.open(s1, new Uint8Array(0)).ok).toBe(true);
    expect(decryptPayload([k2], s2, new Uint8Array(0)).ok).toBe(true);
    expect(cipher.sealedLength(10)).toBe(39);
    expect(() => createCipher(new Keyring()).seal(text('x'), new Uint8Array(0))).toThrow(/empty/);
    expect(createCipher(ringOf(k3)).open(text('garbage'), new Uint8Array(0))).toMatchObject({ ok: false });
  });

  it('random nonces: two seals differ and both open', () => {
    const ring = ringOf(k3);
    const a = sealPacket(text('same'), ring, { nonce: randomNonce });
    const b = sealPacket(text('same'), ring);
    expect(a.ok && b.ok && toHex(a.sealed) !== toHex(b.sealed)).toBe(true);
    expect(() => fixedNonce(new Uint8Array(3))).toThrow(RangeError);
  });
});

describe('sizes and versions', () => {
  it('encryptedLength / encryptOverhead / encryptionVersionFor match memberlist', () => {
    expect([0, 1, 15, 16, 17].map((n) => encryptedLength(0, n))).toEqual([45, 45, 45, 61, 61]);
    expect([0, 1, 16].map((n) => encryptedLength(1, n))).toEqual([29, 30, 45]);
    expect([encryptOverhead(0), encryptOverhead(1)]).toEqual([45, 29]);
    expect([1, 2, 3, 4, 5].map(encryptionVersionFor)).toEqual([0, 1, 1, 1, 1]);
  });
  it('round trip of every length 0..40 in both versions and all key sizes', () => {
    for (const key of [text('k'.repeat(16)), text('k'.repeat(24)), text('k'.repeat(32))]) {
      for (const vsn of [0, 1] as const) {
        for (let n = 0; n <= 40; n++) {
          const p = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
          const s = encryptPayload(vsn, key, p, text('ad'), randomNonce());
          if (!s.ok) throw new Error('seal');
          expect(s.sealed.length).toBe(encryptedLength(vsn, n));
          const o = decryptPayload([key], s.sealed, text('ad'));
          expect(o.ok && toHex(o.plaintext)).toBe(toHex(p));
        }
      }
    }
  });
});

describe('verify switches (GossipVerifyIncoming / GossipVerifyOutgoing)', () => {
  const key = text('0123456789abcdef');
  const plain = hex('0282a75061796c6f6164c0a55365714e6f07');

  it('incoming: plaintext accepted only when verifyIncoming is false; empty ring passes through', () => {
    const ring = ringOf(key);
    expect(decodeIncoming(plain, ring)).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
    expect(decodeIncoming(plain, ring, { verifyIncoming: true }).ok).toBe(false);
    expect(decodeIncoming(plain, ring, { verifyIncoming: false })).toMatchObject({
      ok: true,
      encrypted: false,
    });
    expect(decodeIncoming(plain, new Keyring())).toMatchObject({ ok: true, encrypted: false });
    const s = sealPacket(plain, ring, { label: text('lbl') });
    if (!s.ok) throw new Error('seal');
    expect(decodeIncoming(s.sealed, ring, { label: text('lbl') })).toMatchObject({
      ok: true,
      encrypted: true,
    });
    expect(decodeIncoming(s.sealed, ring)).toMatchObject({ ok: false, code: 'DECRYPT_FAILED' });
  });
  it('stream: encrypted needs keys; plaintext refused only under verifyIncoming', () => {
    const ring = ringOf(key);
    expect(streamIncomingPolicy(10, ring)).toEqual({ ok: true, action: 'decrypt' });
    expect(streamIncomingPolicy(10, new Keyring())).toMatchObject({ ok: false, code: 'NO_KEYS' });
    expect(streamIncomingPolicy(6, ring)).toMatchObject({ ok: false, code: 'NOT_ENCRYPTED' });
    expect(streamIncomingPolicy(6, ring, { verifyIncoming: false })).toEqual({ ok: true, action: 'plain' });
    expect(streamIncomingPolicy(6, new Keyring())).toEqual({ ok: true, action: 'plain' });
  });
  it('outgoing: seal iff keys and verifyOutgoing; codecSecurity hands packet.ts the right options', () => {
    const ring = ringOf(key);
    expect(shouldEncryptOutgoing(ring)).toBe(true);
    expect(shouldEncryptOutgoing(ring, { verifyOutgoing: false })).toBe(false);
    expect(shouldEncryptOutgoing(new Keyring())).toBe(false);
    const on = codecSecurity(ring);
    expect(on.decode.allowPlaintext).toBe(false);
    expect(on.encode.cipher).toBeDefined();
    expect(on.packetOverhead).toBe(29);
    const migrating = codecSecurity(ring, { verifyIncoming: false, verifyOutgoing: false, version: 0 });
    expect(migrating.decode.allowPlaintext).toBe(true);
    expect(migrating.decode.cipher).toBeDefined();
    expect(migrating.encode.cipher).toBeUndefined();
    expect(migrating.packetOverhead).toBe(0);
    expect(codecSecurity(ring, { version: 0 }).packetOverhead).toBe(45);
    const off = codecSecurity(new Keyring());
    expect(off).toEqual({ decode: { allowPlaintext: true }, encode: {}, packetOverhead: 0 });
  });
});

describe('plugged into packet.ts and stream.ts', () => {
  const v1 = GO.find((x) => x.name === 'udp-k16-v1-lbl-ack') as Vector;
  const v0 = GO.find((x) => x.name === 'udp-k16-v0--ack') as Vector;
  const st = GO.find((x) => x.name === 'stream-k16-v1-lbl-ack') as Vector;
  const ack: Message = { type: 'ackResp', body: { seqNo: 7, payload: null } };
  const ring = ringOf(text('0123456789abcdef'));
  const nonce = fixedNonce(hex('000102030405060708090a0b'));

  it('wrapPacket with createCipher builds the Go bytes (v1 + label, v0); decodePacket opens them', () => {
    const c1 = createCipher(ring, { nonce });
    expect(toHex(wrapPacket(hex(v1.plaintext), { cipher: c1, label: 'lbl' }))).toBe(v1.sealed);
    const c0 = createCipher(ring, { nonce, version: 0 });
    expect(toHex(wrapPacket(hex(v0.plaintext), { cipher: c0 }))).toBe(v0.sealed);
    const d = decodePacket(hex(v1.sealed), { cipher: c1, label: 'lbl' });
    expect(d).toMatchObject({ ok: true, encrypted: true, messages: [ack] });
    expect(decodePacket(hex(v0.sealed), { cipher: c1 })).toMatchObject({ ok: true, messages: [ack] });
  });
  it('decodePacket with a wrong key: DECRYPT_FAILED unless plaintext is allowed', () => {
    const wrong = createCipher(ringOf(text('fedcba9876543210')));
    expect(decodePacket(hex(v0.sealed), { cipher: wrong })).toMatchObject({
      ok: false,
      code: 'DECRYPT_FAILED',
    });
    const plainAck = hex(v0.plaintext);
    const sec = codecSecurity(ring, { verifyIncoming: false });
    expect(decodePacket(plainAck, sec.decode)).toMatchObject({ ok: true, encrypted: false, messages: [ack] });
    expect(decodePacket(plainAck, codecSecurity(ring).decode)).toMatchObject({
      ok: false,
      code: 'DECRYPT_FAILED',
    });
  });
  it('encodeStreamFrame with createCipher builds the Go stream frame; parseStreamFrame opens it', () => {
    const cipher = createCipher(ring, { nonce });
    const frame = encodeStreamFrame(
      { type: 'ackResp', value: { seqNo: 7, payload: null } },
      {
        cipher,
        label: 'lbl',
        dialling: true,
      },
    );
    expect(toHex(frame)).toBe(st.sealed);
    const parsed = parseStreamFrame(hex(st.sealed), { cipher, label: 'lbl' });
    expect(parsed).toMatchObject({ kind: 'frame', encrypted: true, value: { type: 'ackResp' } });
  });
});
