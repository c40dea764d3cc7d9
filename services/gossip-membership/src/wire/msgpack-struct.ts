// Schema-driven decoding of one memberlist struct (decodeStruct), accepting what Go's decoder
// accepts (hashicorp/go-msgpack 0.5.x, codec/msgpack.go and decode.go):
//   struct as a map (fixmap, map16, map32) keyed by exact, case-sensitive field names (str family
//   or bin keys), unknown keys skipped whole, duplicate keys = last wins, nil value = zero value;
//   or as an array (positional, in Go DECLARATION order, shorter arrays leave zero values).
//   integers: any int or uint width (fixint, fixneg, 0xcc–0xd3); negatives rejected for unsigned
//   fields; values that overflow the field width rejected; floats (0xca/0xcb) rejected.
//   bool: 0xc2/0xc3 and the fixints 0/1 (go-msgpack decodeBool).
//   string: raw-str family incl. str8 (UTF-8 decoded, invalid sequences become U+FFFD).
//   bytes: str family incl. str8, bin8/16/32, nil, or an array of ints 0–255 (e.g. Vsn [1,5,2,0,0,0]).
// Failures are values, never exceptions (msgpack-format.ts).
//
// Why hand-written: a general-purpose decoder builds a JS value first (a map with string keys, a
// string or binary as the wire happened to carry it) that would then need a second pass to apply
// these per-field rules, and it throws on truncated or hostile input. This decoder reads the fields
// straight into their slots with the rules above, and allocates nothing per value on the hot path
// (every gossip message).

import {
  be16,
  be32,
  msgpackFail as fail,
  type MsgpackError,
  type MsgpackErrorCode,
} from './msgpack-format.js';
import { measure } from './msgpack-measure.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

// The readers below return the value or BAD, and leave the offset after the value in `end` (or the
// failure in `failure`).

type FieldKind = 'uint8' | 'uint16' | 'uint32' | 'int' | 'bool' | 'string' | 'bytes';
export interface FieldSpec {
  /** Go field name, exactly (PascalCase; matched case-sensitively). */
  name: string;
  kind: FieldKind;
}
export type FieldValue = number | boolean | string | Uint8Array | null;
/** `values[i]` belongs to `fields[i]` (Go declaration order); zero values where absent or nil. */
export type StructResult = { ok: true; values: FieldValue[]; end: number } | MsgpackError;

const BAD: unique symbol = Symbol('bad');
type Bad = typeof BAD;
let end = 0;
let failure: MsgpackError = fail('BAD_MSGPACK', '');
const bad = (code: MsgpackErrorCode, detail: string): Bad => {
  failure = fail(code, detail);
  return BAD;
};

const UINT_MAX: Record<'uint8' | 'uint16' | 'uint32', number> = {
  uint8: 0xff,
  uint16: 0xffff,
  uint32: 0xffffffff,
};

/** Any msgpack integer; floats and non-integers are BAD_MSGPACK. */
function readInt(buf: Uint8Array, p: number): number | Bad {
  const b = buf[p];
  if (b === undefined) return bad('TRUNCATED', 'integer');
  if (b <= 0x7f) {
    end = p + 1;
    return b;
  }
  if (b >= 0xe0) {
    end = p + 1;
    return b - 0x100;
  }
  let size: number;
  switch (b) {
    case 0xcc:
    case 0xd0:
      size = 1;
      break;
    case 0xcd:
    case 0xd1:
      size = 2;
      break;
    case 0xce:
    case 0xd2:
      size = 4;
      break;
    case 0xcf:
    case 0xd3:
      size = 8;
      break;
    case 0xca:
    case 0xcb:
      return bad('BAD_MSGPACK', `float 0x${b.toString(16)} for an integer field`);
    default:
      return bad('BAD_MSGPACK', `0x${b.toString(16)} is not an integer`);
  }
  if (p + 1 + size > buf.length) return bad('TRUNCATED', 'integer');
  end = p + 1 + size;
  const q = p + 1;
  switch (b) {
    case 0xcc:
      return buf[q] ?? 0;
    case 0xd0:
      return ((buf[q] ?? 0) << 24) >> 24;
    case 0xcd:
      return be16(buf, q);
    case 0xd1:
      return (be16(buf, q) << 16) >> 16;
    case 0xce:
      return be32(buf, q);
    case 0xd2:
      return be32(buf, q) | 0;
    default: {
      // 64-bit: exact only within ±2^53.
      const hi = be32(buf, q);
      const lo = be32(buf, q + 4);
      if (b === 0xcf || hi < 0x80000000) {
        if (hi >= 0x200000) return bad('BAD_MSGPACK', 'integer overflow');
        return hi * 0x100000000 + lo;
      }
      // Negative int64: two's complement.
      const nhi = ~hi >>> 0;
      const nlo = ~lo >>> 0;
      const mag = nhi * 0x100000000 + nlo + 1;
      if (nhi >= 0x200000) return bad('BAD_MSGPACK', 'integer overflow');
      return -mag;
    }
  }
}

/** Length of a str (or bin) value, −1 for nil; `end` = start of its payload. */
function readRawLen(buf: Uint8Array, p: number, allowBin: boolean): number | Bad {
  const b = buf[p];
  if (b === undefined) return bad('TRUNCATED', 'string');
  let len: number;
  if (b === 0xc0) {
    end = p + 1;
    return -1;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    len = b & 0x1f;
    end = p + 1;
  } else if (b === 0xd9 || (allowBin && b === 0xc4)) {
    if (p + 2 > buf.length) return bad('TRUNCATED', 'str8 length');
    len = buf[p + 1] ?? 0;
    end = p + 2;
  } else if (b === 0xda || (allowBin && b === 0xc5)) {
    if (p + 3 > buf.length) return bad('TRUNCATED', 'str16 length');
    len = be16(buf, p + 1);
    end = p + 3;
  } else if (b === 0xdb || (allowBin && b === 0xc6)) {
    if (p + 5 > buf.length) return bad('TRUNCATED', 'str32 length');
    len = be32(buf, p + 1);
    end = p + 5;
  } else {
    return bad('BAD_MSGPACK', `0x${b.toString(16)} is not a string`);
  }
  if (end + len > buf.length) return bad('TRUNCATED', 'string body');
  return len;
}

function readField(buf: Uint8Array, p: number, kind: FieldKind): FieldValue | Bad {
  if (p >= buf.length) return bad('TRUNCATED', 'field value');
  if (buf[p] === 0xc0) {
    end = p + 1;
    return zeroOf(kind);
  }
  switch (kind) {
    case 'uint8':
    case 'uint16':
    case 'uint32': {
      const v = readInt(buf, p);
      if (v === BAD) return v;
      if (v < 0) return bad('BAD_MSGPACK', `negative value ${v} for an unsigned field`);
      if (v > UINT_MAX[kind]) return bad('BAD_MSGPACK', `${v} overflows ${kind}`);
      return v;
    }
    case 'int':
      return readInt(buf, p);
    case 'bool': {
      const b = buf[p];
      end = p + 1;
      if (b === 0xc2 || b === 0x00) return false;
      if (b === 0xc3 || b === 0x01) return true;
      return bad('BAD_MSGPACK', `0x${(b ?? 0).toString(16)} is not a bool`);
    }
    case 'string': {
      const len = readRawLen(buf, p, false);
      if (len === BAD) return len;
      if (len <= 0) return '';
      const start = end;
      end = start + len;
      return decodeUtf8(buf, start, len);
    }
    case 'bytes': {
      const b = buf[p] ?? 0;
      if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) return readByteArray(buf, p);
      const len = readRawLen(buf, p, true);
      if (len === BAD) return len;
      const start = end;
      end = start + len;
      return buf.slice(start, start + len);
    }
  }
}

/** A []byte given as a msgpack array of small integers (Go accepts it). */
function readByteArray(buf: Uint8Array, p: number): Uint8Array | Bad {
  const b = buf[p] ?? 0;
  let n: number;
  let q: number;
  if (b <= 0x9f) {
    n = b & 0x0f;
    q = p + 1;
  } else if (b === 0xdc) {
    if (p + 3 > buf.length) return bad('TRUNCATED', 'array16 length');
    n = be16(buf, p + 1);
    q = p + 3;
  } else {
    if (p + 5 > buf.length) return bad('TRUNCATED', 'array32 length');
    n = be32(buf, p + 1);
    q = p + 5;
  }
  if (n > buf.length - q) return bad('TRUNCATED', 'byte array');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = readInt(buf, q);
    if (v === BAD) return v;
    if (v < 0 || v > 0xff) return bad('BAD_MSGPACK', `${v} is not a byte`);
    out[i] = v;
    q = end;
  }
  end = q;
  return out;
}

function zeroOf(kind: FieldKind): FieldValue {
  switch (kind) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return null;
    default:
      return 0;
  }
}

/** Skips one value at p (unknown keys); returns the offset after it or BAD. */
function skip(buf: Uint8Array, p: number, what: string): number | Bad {
  const m = measure(buf, p);
  if (m.ok) return p + m.size;
  return m.code === 'INCOMPLETE' ? bad('TRUNCATED', what) : bad(m.code, m.detail);
}

/**
 * Decodes one Go struct at `offset`. `fields` lists the struct's fields in Go DECLARATION order
 * (the order of `values`, and of the positional-array form). `end` = offset after the object.
 */
export function decodeStruct(buf: Uint8Array, offset: number, fields: readonly FieldSpec[]): StructResult {
  const values: FieldValue[] = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) values[i] = zeroOf((fields[i] as FieldSpec).kind);
  const b = buf[offset];
  if (b === undefined) return fail('TRUNCATED', 'struct');
  if (b === 0xc0) return { ok: true, values, end: offset + 1 };
  let n: number;
  let p: number;
  let isMap: boolean;
  if (b >= 0x80 && b <= 0x8f) {
    [n, p, isMap] = [b & 0x0f, offset + 1, true];
  } else if (b >= 0x90 && b <= 0x9f) {
    [n, p, isMap] = [b & 0x0f, offset + 1, false];
  } else if (b === 0xde || b === 0xdc) {
    if (offset + 3 > buf.length) return fail('TRUNCATED', 'container length');
    [n, p, isMap] = [be16(buf, offset + 1), offset + 3, b === 0xde];
  } else if (b === 0xdf || b === 0xdd) {
    if (offset + 5 > buf.length) return fail('TRUNCATED', 'container length');
    [n, p, isMap] = [be32(buf, offset + 1), offset + 5, b === 0xdf];
  } else {
    return fail('BAD_MSGPACK', `0x${b.toString(16)} is not a map`);
  }
  // Every entry takes at least one byte (two for a map): bound n before looping on it.
  if (n > buf.length - p) return fail('TRUNCATED', 'struct entries');
  for (let i = 0; i < n; i++) {
    let index = -1;
    if (isMap) {
      const keyLen = readRawLen(buf, p, true);
      if (keyLen === BAD) {
        if (failure.code === 'TRUNCATED') return failure;
        // A non-string key (Go fails to use it as a field name): skip it like an unknown key.
        const q = skip(buf, p, 'map key');
        if (q === BAD) return failure;
        p = q;
      } else {
        const len = Math.max(0, keyLen);
        for (let f = 0; f < fields.length; f++) {
          if (keyEquals(buf, end, len, (fields[f] as FieldSpec).name)) {
            index = f;
            break;
          }
        }
        p = end + len;
      }
    } else if (i < fields.length) {
      index = i;
    }
    if (index < 0) {
      const q = skip(buf, p, 'skipped value');
      if (q === BAD) return failure;
      p = q;
      continue;
    }
    const spec = fields[index] as FieldSpec;
    const v = readField(buf, p, spec.kind);
    if (v === BAD) return { ...failure, detail: `${spec.name}: ${failure.detail}` };
    values[index] = v;
    p = end;
  }
  return { ok: true, values, end: p };
}

/** UTF-8 text; short ASCII (node names) without the TextDecoder call overhead. */
function decodeUtf8(buf: Uint8Array, at: number, len: number): string {
  if (len <= 64) {
    let s = '';
    for (let i = 0; i < len; i++) {
      const c = buf[at + i] ?? 0;
      if (c > 0x7f) return utf8Decoder.decode(buf.subarray(at, at + len));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(buf.subarray(at, at + len));
}

function keyEquals(buf: Uint8Array, at: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if (buf[at + i] !== name.charCodeAt(i)) return false;
  return true;
}
