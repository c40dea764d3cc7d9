// lzw.ts against Go 1.19 compress/lzw (LSB, litWidth 8): byte-identical compression, decompression
// of Go's output, seeded round trips, and corrupt input as values. fixtures/lzw-go.json holds Go's
// compressed output for the inputs built below (same xorshift32 as test/fixture-gen/main.go, which
// regenerates the file).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compressIfSmaller, compressMessage, decompressMessage } from '../src/wire/compress.js';
import { lzwCompress, lzwDecompress } from '../src/wire/lzw.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const GO = JSON.parse(readFileSync(new URL('./fixtures/lzw-go.json', import.meta.url), 'utf8')) as Record<
  string,
  string
>;

function xorshift(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
function inputs(): Record<string, Uint8Array> {
  let r = xorshift(1);
  const random6000 = new Uint8Array(6000).map(() => r() & 0xff);
  r = xorshift(7);
  const words = ['alive ', 'node-', 'suspect ', 'dead ', '7946 ', 'incarnation ', '\x00\x01\xff'].map((w) =>
    Buffer.from(w, 'latin1'),
  );
  const parts: Buffer[] = [];
  let n = 0;
  while (n < 20000) {
    const w = words[r() % words.length] as Buffer;
    parts.push(w);
    n += w.length;
  }
  const words20000 = new Uint8Array(Buffer.concat(parts));
  const squares9000 = new Uint8Array(9000).map((_, i) => (i * i) % 251);
  return { random6000, words20000, squares9000, aaaa300: new Uint8Array(300).fill(0x61) };
}

describe('lzw: byte-identical to Go', () => {
  it('the shared-docs vectors', () => {
    expect(toHex(lzwCompress(new Uint8Array(0)))).toBe('000302');
    expect(toHex(lzwCompress(Buffer.from('a')))).toBe('00c30404');
    expect(toHex(lzwCompress(Buffer.from('TOBEORNOTTOBEORTOBEORNOT')))).toBe(
      '00a93c1152e48914274fa80824687061c183090302',
    );
  });

  for (const [name, data] of Object.entries(inputs())) {
    it(`${name}: compress = Go's bytes, decompress(Go) = input`, () => {
      const go = GO[name];
      expect(go).toBeDefined();
      expect(toHex(lzwCompress(data))).toBe(go);
      const out = lzwDecompress(hex(go as string));
      expect(out.ok && Buffer.from(out.value).equals(data)).toBe(true);
    });
  }

  it('gives the same bytes whatever was compressed or decompressed before (shared tables)', () => {
    // The writer and reader keep their tables between calls; nothing of one call may leak into the next.
    const all = Object.entries(inputs());
    for (const order of [all, [...all].reverse()])
      for (const [name, data] of order) {
        expect(toHex(lzwCompress(data))).toBe(GO[name]);
        expect(toHex(lzwCompress(Buffer.from('TOBEORNOTTOBEORTOBEORNOT')))).toBe(
          '00a93c1152e48914274fa80824687061c183090302',
        );
        const out = lzwDecompress(hex(GO[name] as string));
        expect(out.ok && Buffer.from(out.value).equals(data)).toBe(true);
      }
  });

  it('the compressed ack message of §8', () => {
    const ack = hex('0282a75061796c6f6164c0a55365714e6f07');
    const wire = hex('0982a4416c676f00a3427566b70005083a05254c1e366fc29001566a4a99384ede1c0808');
    expect(toHex(compressMessage(ack))).toBe(toHex(wire));
    expect(decompressMessage(wire, 1)).toEqual({ ok: true, payload: ack, end: wire.length });
    // Only if shorter (UDP): the 18-byte ack grows to 36 bytes, so it stays plain.
    expect(compressIfSmaller(ack)).toBe(ack);
  });
});

describe('lzw: round trips and corrupt input', () => {
  it('seeded random inputs round-trip (sizes across the 4096-code reset)', () => {
    const r = xorshift(12345);
    for (let i = 0; i < 60; i++) {
      const len = r() % (i < 50 ? 3000 : 40000);
      const alphabet = 1 + (r() % 256);
      const data = new Uint8Array(len).map(() => r() % alphabet);
      const out = lzwDecompress(lzwCompress(data));
      expect(out.ok && Buffer.from(out.value).equals(data)).toBe(true);
    }
  });

  it('decodes a stream without the leading clear code (older Go writers)', () => {
    // "a" = literal 97, EOF 257 at width 9: bits 0x61 | 257<<9.
    const v = 0x61 | (257 << 9);
    expect(lzwDecompress(new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]))).toEqual({
      ok: true,
      value: new Uint8Array([0x61]),
    });
  });

  it('reports missing EOF, invalid codes and oversized output as codes', () => {
    expect(lzwDecompress(new Uint8Array(0))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    const full = lzwCompress(Buffer.from('hello hello hello'));
    expect(lzwDecompress(full.subarray(0, full.length - 2))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    // clear, then code 300 (> next free 257).
    const v = 256 | (300 << 9);
    expect(lzwDecompress(new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]))).toMatchObject({
      ok: false,
      code: 'BAD_COMPRESSION',
    });
    const bomb = lzwCompress(new Uint8Array(1_000_000));
    expect(bomb.length).toBeLessThan(3000);
    expect(lzwDecompress(bomb, 100_000)).toMatchObject({ ok: false, code: 'TOO_LARGE' });
  });

  it('the compress wrapper refuses unknown algorithms and empty output', () => {
    expect(decompressMessage(hex('82a4416c676f01a3427566a0'), 0)).toMatchObject({
      ok: false,
      code: 'BAD_COMPRESSION',
    });
    expect(decompressMessage(hex('82a4416c676f00a3427566a3000302'), 0)).toMatchObject({
      ok: false,
      code: 'BAD_COMPRESSION',
    });
    expect(decompressMessage(hex('82a4416c676f00a3427566'), 0)).toMatchObject({
      ok: false,
      code: 'TRUNCATED',
    });
  });
});
