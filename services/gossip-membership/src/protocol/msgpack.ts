// msgpack as memberlist's Go side speaks it (hashicorp/go-msgpack 0.5.x `MsgpackHandle{}` with all
// defaults; docs/wire.md §4). Hand-written: the encoder must be byte-identical to Go, which no
// general-purpose library is, and the decoder must accept everything Go accepts.
//
// ENCODER (MsgpackWriter) writes exactly what go-msgpack writes for memberlist structs:
//   struct      fixmap (0x80|n; ≤ 8 fields), PascalCase keys as fixstr, sorted in byte order. The
//               CALLER writes the keys in that order (codec.ts holds the sorted field lists).
//   string      raw-str family only: fixstr 0xa0–0xbf (< 32 B), str16 0xda (< 65536), str32 0xdb.
//               NEVER str8 (0xd9): the 2013 raw type has no 8-bit form.
//   []byte      the same raw-str family as strings (Go writes bytes as raw strings; never bin);
//               a nil slice (null) is nil 0xc0; an empty non-nil slice is 0xa0.
//   uint*/int   smallest form: fixint 0–127, 0xcc u8, 0xcd u16, 0xce u32, 0xcf u64 (go-msgpack
//               0.5.x writes non-negative Go `int`s the same way); negatives: fixneg ≥ −32,
//               0xd0 i8, 0xd1 i16, 0xd2 i32.
//   bool        0xc2 / 0xc3.
//
// DECODER (decodeStruct) is schema-driven and accepts what Go's decoders accept:
//   struct as a map (fixmap, map16, map32) keyed by exact, case-sensitive field names (str family
//   or bin keys), unknown keys skipped whole, duplicate keys = last wins, nil value = zero value;
//   or as an array (positional, in Go DECLARATION order, shorter arrays leave zero values).
//   integers: any int or uint width (fixint, fixneg, 0xcc–0xd3); negatives rejected for unsigned
//   fields; values that overflow the field width rejected; floats (0xca/0xcb) rejected.
//   bool: 0xc2/0xc3 and the fixints 0/1 (go-msgpack decodeBool).
//   string: raw-str family incl. str8 (UTF-8 decoded, invalid sequences become U+FFFD).
//   bytes: str family incl. str8, bin8/16/32, nil, or an array of ints 0–255 (e.g. Vsn [1,5,2,0,0,0]).
// Failures are values, never exceptions: {ok:false, code, detail} with code
//   TRUNCATED   the buffer ends inside the object;
//   BAD_MSGPACK not msgpack (0xc1, reserved), or a type the field cannot take, or an overflow;
//   TOO_DEEP    nesting beyond MAX_DEPTH (a crafted `[[[[…` cannot exhaust the stack).
//
// measure(buf, offset) walks ONE complete msgpack object without building it and says how many
// bytes it takes, or that the buffer is incomplete: the TCP reader uses it to know when a header /
// node state has fully arrived (memberlist streams carry no overall length, docs/wire.md §7.1).

/** Nesting limit for skipped/measured values (memberlist structs are flat; 32 is generous). */
export const MAX_DEPTH = 32;

export type MsgpackErrorCode = 'TRUNCATED' | 'BAD_MSGPACK' | 'TOO_DEEP';
export interface MsgpackError {
  ok: false;
  code: MsgpackErrorCode;
  detail: string;
}

const fail = (code: MsgpackErrorCode, detail: string): MsgpackError => ({ ok: false, code, detail });
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Growable byte buffer with the Go-compatible msgpack writers. */
export class MsgpackWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initialCapacity = 128) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  byte(b: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
    return this;
  }

  /** Raw bytes, no msgpack framing (type bytes, user payloads, concatenated states). */
  raw(bytes: Uint8Array): this {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** Map header (fixmap for n < 16, as every memberlist struct; map16/map32 otherwise). */
  map(n: number): this {
    if (n < 16) return this.byte(0x80 | n);
    if (n < 0x10000) {
      this.#reserve(3);
      this.#buf[this.#len] = 0xde;
      this.#view.setUint16(this.#len + 1, n);
      this.#len += 3;
      return this;
    }
    this.#reserve(5);
    this.#buf[this.#len] = 0xdf;
    this.#view.setUint32(this.#len + 1, n);
    this.#len += 5;
    return this;
  }

  #rawHeader(n: number): void {
    if (n < 32) {
      this.byte(0xa0 | n);
    } else if (n < 0x10000) {
      this.#reserve(3);
      this.#buf[this.#len] = 0xda;
      this.#view.setUint16(this.#len + 1, n);
      this.#len += 3;
    } else {
      this.#reserve(5);
      this.#buf[this.#len] = 0xdb;
      this.#view.setUint32(this.#len + 1, n);
      this.#len += 5;
    }
  }

  /** A Go string: UTF-8 bytes in the raw-str family (never str8). */
  str(s: string): this {
    // Fast path: short ASCII (node names) written in place, no intermediate buffer.
    if (s.length < 32) {
      let ascii = true;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
      if (ascii) {
        this.#reserve(1 + s.length);
        this.#buf[this.#len++] = 0xa0 | s.length;
        for (let i = 0; i < s.length; i++) this.#buf[this.#len++] = s.charCodeAt(i);
        return this;
      }
    }
    const bytes = utf8.encode(s);
    this.#rawHeader(bytes.length);
    return this.raw(bytes);
  }

  /** A pre-encoded ASCII key (field names): fixstr. */
  key(k: Uint8Array): this {
    return this.raw(k);
  }

  /** A Go []byte: raw-str family, null = nil (0xc0). */
  bytes(b: Uint8Array | null): this {
    if (b === null) return this.byte(0xc0);
    this.#rawHeader(b.length);
    return this.raw(b);
  }

  /** Non-negative integer in its smallest unsigned form (uint8/16/32 fields, and Go ints ≥ 0). */
  uint(v: number): this {
    if (v < 128) return this.byte(v);
    if (v < 0x100) {
      this.#reserve(2);
      this.#buf[this.#len] = 0xcc;
      this.#buf[this.#len + 1] = v;
      this.#len += 2;
      return this;
    }
    if (v < 0x10000) {
      this.#reserve(3);
      this.#buf[this.#len] = 0xcd;
      this.#view.setUint16(this.#len + 1, v);
      this.#len += 3;
      return this;
    }
    if (v < 0x100000000) {
      this.#reserve(5);
      this.#buf[this.#len] = 0xce;
      this.#view.setUint32(this.#len + 1, v);
      this.#len += 5;
      return this;
    }
    this.#reserve(9);
    this.#buf[this.#len] = 0xcf;
    this.#view.setBigUint64(this.#len + 1, BigInt(v));
    this.#len += 9;
    return this;
  }

  /** A Go `int` as go-msgpack 0.5.x writes it: unsigned forms when ≥ 0, smallest signed otherwise. */
  int(v: number): this {
    if (v >= 0) return this.uint(v);
    if (v >= -32) return this.byte(v & 0xff);
    if (v >= -128) return this.byte(0xd0).byte(v & 0xff);
    if (v >= -32768) {
      this.#reserve(3);
      this.#buf[this.#len] = 0xd1;
      this.#view.setInt16(this.#len + 1, v);
      this.#len += 3;
      return this;
    }
    if (v >= -2147483648) {
      this.#reserve(5);
      this.#buf[this.#len] = 0xd2;
      this.#view.setInt32(this.#len + 1, v);
      this.#len += 5;
      return this;
    }
    this.#reserve(9);
    this.#buf[this.#len] = 0xd3;
    this.#view.setBigInt64(this.#len + 1, BigInt(v));
    this.#len += 9;
    return this;
  }

  bool(b: boolean): this {
    return this.byte(b ? 0xc3 : 0xc2);
  }

  nil(): this {
    return this.byte(0xc0);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /**
   * Empties the writer for reuse. A buffer grown past `keepBytes` is let go (a push/pull state can
   * be large; a shared scratch writer should not hold on to it).
   */
  reset(keepBytes = 64 * 1024): this {
    this.#len = 0;
    if (this.#buf.length > keepBytes) {
      this.#buf = new Uint8Array(256);
      this.#view = new DataView(this.#buf.buffer);
    }
    return this;
  }
}

/**
 * One writer shared by the synchronous encoders that return a copy (finish) or only a length: a
 * fresh writer per message allocated an ArrayBuffer and a DataView for every ping, ack and
 * size-measurement, a visible part of an idle node's CPU (bench/cluster.ts). Only for code that
 * does not call another user of it between reset() and finish().
 */
export const scratchWriter = new MsgpackWriter(1024);

/** Encodes an ASCII field name as a fixstr key once (field names are < 32 bytes). */
export function fixKey(name: string): Uint8Array {
  const b = utf8.encode(name);
  const out = new Uint8Array(b.length + 1);
  out[0] = 0xa0 | b.length;
  out.set(b, 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// measure / skip

export type MeasureResult = { ok: true; size: number } | { ok: false; code: 'INCOMPLETE' } | MsgpackError;

const INCOMPLETE = { ok: false, code: 'INCOMPLETE' } as const;

function be16(buf: Uint8Array, at: number): number {
  return ((buf[at] ?? 0) << 8) | (buf[at + 1] ?? 0);
}
function be32(buf: Uint8Array, at: number): number {
  return (
    (((buf[at] ?? 0) << 24) | ((buf[at + 1] ?? 0) << 16) | ((buf[at + 2] ?? 0) << 8) | (buf[at + 3] ?? 0)) >>>
    0
  );
}

/**
 * Size in bytes of the one complete msgpack object at `offset`, or INCOMPLETE when the buffer ends
 * first (read more and call again), or BAD_MSGPACK / TOO_DEEP. Never throws; iterative over a
 * pending-count stack so deep nesting costs no recursion.
 */
export function measure(buf: Uint8Array, offset = 0): MeasureResult {
  let p = offset;
  // Objects still to read at each open container level.
  const pending: number[] = [1];
  while (pending.length > 0) {
    const top = pending.length - 1;
    if (pending[top] === 0) {
      pending.pop();
      continue;
    }
    pending[top] = (pending[top] ?? 1) - 1;
    if (p >= buf.length) return INCOMPLETE;
    const b = buf[p] ?? 0;
    let skip = 0; // payload bytes after the descriptor (and after any length field)
    let head = 1; // descriptor + length field
    let children = 0;
    if (b <= 0x7f || b >= 0xe0) {
      // fixints
    } else if (b <= 0x8f) children = (b & 0x0f) * 2;
    else if (b <= 0x9f) children = b & 0x0f;
    else if (b <= 0xbf) skip = b & 0x1f;
    else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xc1:
          return fail('BAD_MSGPACK', `reserved descriptor 0xc1 at ${p}`);
        case 0xc4:
        case 0xd9:
          head = 2;
          if (p + 2 > buf.length) return INCOMPLETE;
          skip = buf[p + 1] ?? 0;
          break;
        case 0xc5:
        case 0xda:
          head = 3;
          if (p + 3 > buf.length) return INCOMPLETE;
          skip = be16(buf, p + 1);
          break;
        case 0xc6:
        case 0xdb:
          head = 5;
          if (p + 5 > buf.length) return INCOMPLETE;
          skip = be32(buf, p + 1);
          break;
        case 0xc7: // ext8
          head = 3;
          if (p + 2 > buf.length) return INCOMPLETE;
          skip = buf[p + 1] ?? 0;
          break;
        case 0xc8: // ext16
          head = 4;
          if (p + 3 > buf.length) return INCOMPLETE;
          skip = be16(buf, p + 1);
          break;
        case 0xc9: // ext32
          head = 6;
          if (p + 5 > buf.length) return INCOMPLETE;
          skip = be32(buf, p + 1);
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xd4: // fixext 1..16: type byte + data
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xdc:
          head = 3;
          if (p + 3 > buf.length) return INCOMPLETE;
          children = be16(buf, p + 1);
          break;
        case 0xdd:
          head = 5;
          if (p + 5 > buf.length) return INCOMPLETE;
          children = be32(buf, p + 1);
          break;
        case 0xde:
          head = 3;
          if (p + 3 > buf.length) return INCOMPLETE;
          children = be16(buf, p + 1) * 2;
          break;
        case 0xdf:
          head = 5;
          if (p + 5 > buf.length) return INCOMPLETE;
          children = be32(buf, p + 1) * 2;
          break;
      }
    }
    p += head + skip;
    if (p > buf.length) return INCOMPLETE;
    if (children > 0) {
      if (pending.length >= MAX_DEPTH) return fail('TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`);
      pending.push(children);
    }
  }
  return { ok: true, size: p - offset };
}

// ---------------------------------------------------------------------------------------------
// schema-driven struct decoding
//
// Hot path (every gossip message): the readers below allocate nothing per value. Each returns the
// value or BAD, and leaves the offset after the value in `end` (or the failure in `failure`).

export type FieldKind = 'uint8' | 'uint16' | 'uint32' | 'int' | 'bool' | 'string' | 'bytes';
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
