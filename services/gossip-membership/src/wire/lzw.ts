// LZW exactly as Go's `compress/lzw` with LSB bit order and litWidth 8 (the GIF variant), the
// algorithm behind memberlist's compress{Algo:0} (util.go compressPayload / decompressBuffer;
// docs/wire.md §8). A default Go node compresses every TCP frame and any UDP packet it shrinks, so
// decompression is required; compression is byte-identical to Go 1.19's writer.
//
// Codes: 0–255 literals, 256 = CLEAR, 257 = EOF, table entries from 258 up to 4095.
// Width starts at 9 bits; bits are packed LSB-first; the last partial byte is zero-padded.
//
// WRITER (lzw.go Writer, ported line for line so the bytes match):
//   - the stream STARTS with a clear code (Go ≥ 1.17); an empty input is CLEAR, EOF = 00 03 02;
//   - after emitting a code, hi++; when hi == overflow (512, 1024, 2048) the width grows by one
//     BEFORE the next code (non-early change); when hi reaches 4095 the writer emits CLEAR at
//     width 12 and resets width 9 / hi 257 / the table;
//   - Close emits the pending code, hi++, then EOF (257), then the partial byte.
//   Dictionary: Go's 16384-slot open-addressing hash, key = prefixCode<<8 | byte.
// READER (lzw.go Reader.decode): width 9, hi 257, overflow 512, no previous code. CLEAR resets,
//   EOF stops (bytes after it are ignored), a literal or a code < hi outputs its expansion, code ==
//   hi is the KwKwK case (expansion(prev) + its first byte), anything above hi is invalid. After
//   each code with a previous one, entry hi = (prev, first byte); then prev = code, hi++; at
//   hi == overflow: at width 12 forget prev and hi-- (the table stays full until a CLEAR),
//   else widen.
//   Running out of input before EOF is an error (Go: "unexpected EOF"; memberlist drops it).
// Results are values: {ok:false, code:'TRUNCATED' | 'BAD_COMPRESSION' | 'TOO_LARGE'}. Output is
// capped (default 40 MiB, memberlist's post-0.6 limit) so a 2 KiB bomb cannot allocate gigabytes.

const LZW_CLEAR = 256;
const LZW_EOF = 257;
/** memberlist maxDecompressedSize (post v0.6.0). */
export const MAX_DECOMPRESSED_BYTES = 40 * 1024 * 1024;

const MAX_CODE = (1 << 12) - 1;
const MAX_WIDTH = 12;
const TABLE_SIZE = 4 * (1 << 12);
const TABLE_MASK = TABLE_SIZE - 1;

class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(Math.max(16, cap));
  }
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * The writer's dictionary and the slots it filled, kept between calls: a fresh 64 KiB table per
 * packet was most of an idle node's protocol CPU (allocating and zeroing an external backing
 * store, plus the GCs it triggers; bench/cluster.ts). Compression is synchronous, so one shared
 * table is safe; the slots a call filled are zeroed again before it returns. At most
 * MAX_CODE − LZW_EOF entries exist between two resets.
 */
const writerTable = new Uint32Array(TABLE_SIZE); // 0 = empty; else key<<12 | code (as uint32)
const writerUsed = new Uint16Array(MAX_CODE);
/** Output scratch reused up to this size (bytes); larger outputs get their own buffer. */
const WRITER_SCRATCH_MAX = 64 * 1024;
const writerOut = new ByteSink(2048);

/** LZW-compresses `input` byte-identically to Go's lzw.NewWriter(w, lzw.LSB, 8) + Write + Close. */
export function lzwCompress(input: Uint8Array): Uint8Array {
  const out = writerOut;
  out.len = 0;
  const table = writerTable;
  const used = writerUsed;
  let nUsed = 0;
  let bits = 0;
  let nBits = 0;
  let width = 9;
  let hi = LZW_EOF;
  let overflow = 512;

  const write = (c: number) => {
    bits |= c << nBits;
    nBits += width;
    while (nBits >= 8) {
      out.push(bits & 0xff);
      bits >>>= 8;
      nBits -= 8;
    }
  };
  /** Go's incHi; returns true on "out of codes" (a clear was emitted and the table reset). */
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      write(LZW_CLEAR);
      width = 9;
      hi = LZW_EOF;
      overflow = 512;
      for (let j = 0; j < nUsed; j++) table[used[j] ?? 0] = 0;
      nUsed = 0;
      return true;
    }
    return false;
  };

  if (input.length === 0) {
    // Write of nothing leaves savedCode invalid; Close writes CLEAR then EOF.
    write(LZW_CLEAR);
  } else {
    write(LZW_CLEAR);
    let code = input[0] ?? 0;
    loop: for (let i = 1; i < input.length; i++) {
      const literal = input[i] ?? 0;
      const key = (code << 8) | literal;
      let hash = ((key >>> 12) ^ key) & TABLE_MASK;
      for (let h = hash, t = table[hash] ?? 0; t !== 0; ) {
        if (key === t >>> 12) {
          code = t & MAX_CODE;
          continue loop;
        }
        h = (h + 1) & TABLE_MASK;
        t = table[h] ?? 0;
      }
      write(code);
      code = literal;
      if (incHi()) continue;
      for (;;) {
        if (table[hash] === 0) {
          table[hash] = ((key << 12) | hi) >>> 0;
          used[nUsed++] = hash;
          break;
        }
        hash = (hash + 1) & TABLE_MASK;
      }
    }
    write(code);
    incHi();
  }
  write(LZW_EOF);
  if (nBits > 0) out.push(bits & 0xff);
  for (let j = 0; j < nUsed; j++) table[used[j] ?? 0] = 0;
  const result = out.result();
  if (out.buf.length > WRITER_SCRATCH_MAX) out.buf = new Uint8Array(2048);
  return result;
}

const readerSuffix = new Uint8Array(1 << MAX_WIDTH);
const readerPrefix = new Uint16Array(1 << MAX_WIDTH);
const readerStack = new Uint8Array(1 << MAX_WIDTH);

export type LzwResult =
  | { ok: true; value: Uint8Array }
  | { ok: false; code: 'TRUNCATED' | 'BAD_COMPRESSION' | 'TOO_LARGE'; detail: string };

/**
 * Decompresses a Go `compress/lzw` LSB/8 stream. Fails with TRUNCATED when the input ends before
 * the EOF code, BAD_COMPRESSION on an invalid code, TOO_LARGE past `maxOutput` bytes.
 */
export function lzwDecompress(input: Uint8Array, maxOutput = MAX_DECOMPRESSED_BYTES): LzwResult {
  const out = new ByteSink(Math.min(maxOutput, input.length * 3 + 16));
  // Shared between calls (synchronous, so safe): an entry is always written before it is read
  // (codes above hi are refused), so what a previous call left there is never seen.
  const suffix = readerSuffix;
  const prefix = readerPrefix;
  const stack = readerStack;
  const INVALID = 0xffff;
  let width = 9;
  let hi = LZW_EOF;
  let overflow = 512;
  let last = INVALID;
  let bits = 0;
  let nBits = 0;
  let pos = 0;

  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) return { ok: false, code: 'TRUNCATED', detail: 'lzw: unexpected EOF' };
      bits |= (input[pos++] ?? 0) << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;

    if (code < LZW_CLEAR) {
      if (out.len >= maxOutput) return tooLarge(maxOutput);
      out.push(code);
      if (last !== INVALID) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code === LZW_CLEAR) {
      width = 9;
      hi = LZW_EOF;
      overflow = 512;
      last = INVALID;
      continue;
    } else if (code === LZW_EOF) {
      return { ok: true, value: out.result() };
    } else if (code <= hi) {
      // Expand into `stack` backwards (Go writes into the tail of its output buffer).
      let i = stack.length - 1;
      let c = code;
      if (code === hi && last !== INVALID) {
        c = last;
        while (c >= LZW_CLEAR) c = prefix[c] ?? 0;
        stack[i--] = c;
        c = last;
      }
      while (c >= LZW_CLEAR) {
        if (i < 0) return { ok: false, code: 'BAD_COMPRESSION', detail: 'lzw: expansion too long' };
        stack[i--] = suffix[c] ?? 0;
        c = prefix[c] ?? 0;
      }
      if (i < 0) return { ok: false, code: 'BAD_COMPRESSION', detail: 'lzw: expansion too long' };
      stack[i] = c;
      const n = stack.length - i;
      if (out.len + n > maxOutput) return tooLarge(maxOutput);
      out.reserve(n);
      out.buf.set(stack.subarray(i), out.len);
      out.len += n;
      if (last !== INVALID) {
        suffix[hi] = c;
        prefix[hi] = last;
      }
    } else {
      return { ok: false, code: 'BAD_COMPRESSION', detail: `lzw: invalid code ${code} (next free ${hi})` };
    }
    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        last = INVALID;
        hi--;
      } else {
        width++;
        overflow = 1 << width;
      }
    }
  }
}

function tooLarge(max: number): LzwResult {
  return { ok: false, code: 'TOO_LARGE', detail: `lzw: decompressed data exceeds ${max} bytes` };
}
