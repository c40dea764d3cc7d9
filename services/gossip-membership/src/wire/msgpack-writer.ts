// The msgpack encoder for memberlist's messages, writing exactly the bytes Go memberlist writes:
// hashicorp/go-msgpack 0.5.x with memberlist's `codec.MsgpackHandle{}` (WriteExt false; memberlist
// net.go / util.go encode). docs/wire.md §4.
//
// Why hand-written and not a msgpack package: with WriteExt false go-msgpack writes the pre-2013
// "raw" forms (go-msgpack codec/msgpack.go encodeString, encodeStringBytes, writeContainerLen):
// strings AND []byte as fixstr / str16 / str32, never str8 (0xd9) and never bin (0xc4–0xc6).
// Packages that follow the current msgpack spec write str8 for 32–255-byte strings and bin for byte
// arrays. Go's decoder reads those too, so this is not about being understood: it is about our
// messages having Go's exact sizes, on which the 1400-byte packet budget, compound splitting and
// piggyback packing decide (compound.ts, message-size.ts), and about comparing our bytes with
// Go-generated fixtures byte for byte (test/codec-go.test.ts, test/fixture-gen). Field order is the
// caller's: go-msgpack writes struct fields sorted by name, codec.ts holds the sorted field lists.
//
//   struct      fixmap (0x80|n; ≤ 8 fields), PascalCase keys as fixstr, sorted in byte order.
//   string      raw-str family only: fixstr 0xa0–0xbf (< 32 B), str16 0xda (< 65536), str32 0xdb.
//   []byte      the same raw-str family as strings; a nil slice (null) is nil 0xc0; an empty
//               non-nil slice is 0xa0.
//   uint*/int   smallest form: fixint 0–127, 0xcc u8, 0xcd u16, 0xce u32, 0xcf u64 (go-msgpack
//               0.5.x writes non-negative Go `int`s the same way); negatives: fixneg ≥ −32,
//               0xd0 i8, 0xd1 i16, 0xd2 i32.
//   bool        0xc2 / 0xc3.

const utf8 = new TextEncoder();

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
