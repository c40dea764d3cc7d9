// Hostile input: truncated, oversized, wrong-type, bad-CRC, undecompressible and garbage packets
// and streams, then a seeded fuzz loop of random and mutated inputs. Every decoder must return a
// value with a stable code and never throw.
import { describe, expect, it } from 'vitest';
import type { Message } from '../src/protocol/messages.js';
import { decodeMessage, encodeMessage } from '../src/wire/codec.js';
import { makeCompoundMessage } from '../src/wire/compound.js';
import { compressMessage } from '../src/wire/compress.js';
import { addCrc } from '../src/wire/has-crc.js';
import { addLabel } from '../src/wire/label.js';
import { lzwCompress, lzwDecompress } from '../src/wire/lzw.js';
import { measure } from '../src/wire/msgpack-measure.js';
import { decodePacket, type PacketErrorCode, wrapPacket } from '../src/wire/packet.js';
import { encodeStreamFrame, parseStreamFrame, type StreamErrorCode } from '../src/wire/stream.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

const PACKET_CODES = new Set<PacketErrorCode>([
  'EMPTY',
  'TRUNCATED',
  'EMPTY_LABEL',
  'LABEL_MISMATCH',
  'DECRYPT_FAILED',
  'BAD_CRC',
  'UNKNOWN_TYPE',
  'UNSUPPORTED_TYPE',
  'BAD_MSGPACK',
  'TOO_DEEP',
  'BAD_COMPRESSION',
  'TOO_LARGE',
]);
const STREAM_CODES = new Set<StreamErrorCode>([
  'TRUNCATED',
  'UNKNOWN_TYPE',
  'UNSUPPORTED_TYPE',
  'BAD_MSGPACK',
  'TOO_DEEP',
  'BAD_COMPRESSION',
  'TOO_LARGE',
  'EMPTY',
  'EMPTY_LABEL',
  'LABEL_MISMATCH',
  'DECRYPT_FAILED',
  'ENCRYPTION_NOT_CONFIGURED',
  'ENCRYPTION_REQUIRED',
]);

/** Decodes and checks the result's shape; returns the failure code (or 'ok'). */
function packetOutcome(p: Uint8Array, label = ''): string {
  const r = decodePacket(p, { label, maxDecompressed: 1 << 20 });
  if (!r.ok) {
    expect(PACKET_CODES.has(r.code)).toBe(true);
    return r.code;
  }
  for (const e of r.errors) expect(PACKET_CODES.has(e.code)).toBe(true);
  return r.errors[0]?.code ?? 'ok';
}
function streamOutcome(s: Uint8Array): string {
  const r = parseStreamFrame(s, { maxDecompressed: 1 << 20 });
  if (r.kind === 'error') expect(STREAM_CODES.has(r.code)).toBe(true);
  return r.kind === 'error' ? r.code : r.kind;
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const vsn = new Uint8Array([1, 5, 2, 0, 0, 0]);
const SAMPLES: Message[] = [
  {
    type: 'ping',
    body: { seqNo: 1, node: 'a', sourceAddr: new Uint8Array([1, 2, 3, 4]), sourcePort: 9, sourceNode: 'b' },
  },
  {
    type: 'indirectPing',
    body: { seqNo: 2, target: new Uint8Array([1, 2, 3, 4]), port: 7946, node: 'c', nack: true },
  },
  { type: 'ackResp', body: { seqNo: 70000, payload: new Uint8Array(40).fill(7) } },
  { type: 'nackResp', body: { seqNo: 4 } },
  { type: 'suspect', body: { incarnation: 5, node: 'x', from: 'y' } },
  {
    type: 'alive',
    body: {
      incarnation: 6,
      node: 'node-6',
      addr: new Uint8Array(16),
      port: 7946,
      meta: new Uint8Array(50),
      vsn,
    },
  },
  { type: 'dead', body: { incarnation: 7, node: 'x', from: 'x' } },
  { type: 'user', body: new Uint8Array([1, 2, 3]) },
];

describe('hostile packets: each class fails with its code', () => {
  const alive = encodeMessage(SAMPLES[5] as Message);
  it.each<[string, Uint8Array, string]>([
    ['empty', new Uint8Array(0), 'EMPTY'],
    ['truncated alive', alive.subarray(0, alive.length - 3), 'TRUNCATED'],
    ['type byte only', new Uint8Array([4]), 'TRUNCATED'],
    ['unknown type', new Uint8Array([99, 1, 2]), 'UNKNOWN_TYPE'],
    ['pushPull over UDP', new Uint8Array([6, 0x80]), 'UNSUPPORTED_TYPE'],
    [
      'bad CRC',
      (() => {
        const p = addCrc(alive);
        p[10] = (p[10] ?? 0) ^ 1;
        return p;
      })(),
      'BAD_CRC',
    ],
    ['short CRC wrapper', new Uint8Array([12, 1, 2]), 'TRUNCATED'],
    ['undecompressible', hex('0982a4416c676f00a3427566a3ffffff'), 'BAD_COMPRESSION'],
    ['unknown algorithm', hex('0982a4416c676f07a3427566a0'), 'BAD_COMPRESSION'],
    ['compress of nothing', hex('0982a4416c676f00a3427566a3000302'), 'BAD_COMPRESSION'],
    ['zip bomb over the cap', compressMessage(new Uint8Array(3 << 20).fill(4)), 'TOO_LARGE'],
    ['float seqNo', hex('0b81a55365714e6fcb4022000000000000'), 'BAD_MSGPACK'],
    ['string as a map', hex('04a3616263'), 'BAD_MSGPACK'],
    ['port overflow', hex('0181a4506f7274ce00010000'), 'BAD_MSGPACK'],
    ['missing compound lengths', new Uint8Array([7, 3, 0]), 'TRUNCATED'],
    ['empty label header', hex('f400'), 'EMPTY_LABEL'],
    ['unexpected label', addLabel(alive, 'other'), 'LABEL_MISMATCH'],
    ['compound bombs nest too deep', nest(20), 'TOO_DEEP'],
  ])('%s', (_name, packet, code) => {
    expect(packetOutcome(packet)).toBe(code);
  });
});

function nest(depth: number): Uint8Array {
  let p: Uint8Array = new Uint8Array([8]);
  for (let i = 0; i < depth; i++) p = makeCompoundMessage([p]);
  return p;
}

describe('hostile streams: each class fails with its code, or waits for more', () => {
  it.each<[string, Uint8Array, string]>([
    ['garbage type', hex('ff'), 'UNKNOWN_TYPE'],
    ['compound on a stream', hex('0700'), 'UNSUPPORTED_TYPE'],
    ['not msgpack after the type', hex('06c1'), 'BAD_MSGPACK'],
    ['header wrong type', hex('06a3616263'), 'BAD_MSGPACK'],
    ['negative node count', hex('0681a54e6f646573ff'), 'BAD_MSGPACK'],
    ['huge user state', hex('0681ac5573657253746174654c656ed2ffffffff'), 'BAD_MSGPACK'],
    ['too many nodes', hex('0681a54e6f646573ce7fffffff'), 'TOO_LARGE'],
    ['encrypted without a key', hex('0a00000010'), 'ENCRYPTION_NOT_CONFIGURED'],
    ['compress with garbage', hex('0982a4416c676f00a3427566a3ffffff'), 'BAD_COMPRESSION'],
    ['compressed frame cut short', compressMessage(hex('0683a44a6f696ec3a54e6f64657301')), 'TRUNCATED'],
    ['compress in compress', compressMessage(compressMessage(hex('0d81a54572726f72a0'))), 'UNSUPPORTED_TYPE'],
    ['half a header', hex('0683a44a6f'), 'more'],
    ['states still coming', hex('0683a44a6f696ec3a54e6f64657305ac5573657253746174654c656e00'), 'more'],
  ])('%s', (_name, stream, code) => {
    expect(streamOutcome(stream)).toBe(code);
  });
});

describe('seeded fuzz: nothing throws', () => {
  it('5000 random and mutated packets', () => {
    const r = xorshift(0xc0dec);
    const seeds = [
      ...SAMPLES.map(encodeMessage),
      makeCompoundMessage(SAMPLES.map(encodeMessage)),
      wrapPacket(makeCompoundMessage(SAMPLES.map(encodeMessage)), { compress: true, crc: true }),
      compressMessage(encodeMessage(SAMPLES[5] as Message)),
      addLabel(addCrc(encodeMessage(SAMPLES[0] as Message)), 'lbl'),
    ];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      let p: Uint8Array;
      const mode = r() % 4;
      if (mode === 0) {
        p = new Uint8Array(r() % 64).map(() => r() & 0xff);
        if (p.length > 0) p[0] = r() % 15; // plausible type bytes
      } else {
        p = (seeds[r() % seeds.length] as Uint8Array).slice();
        if (mode === 1) for (let k = 1 + (r() % 4); k > 0; k--) p[r() % p.length] = r() & 0xff;
        else if (mode === 2) p = p.subarray(0, r() % (p.length + 1));
        else
          p = new Uint8Array([
            ...p.subarray(0, r() % p.length),
            ...new Uint8Array(r() % 8).map(() => r() & 0xff),
          ]);
      }
      const code = packetOutcome(p, mode === 0 || r() % 2 ? '' : 'lbl');
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      // The lower layers on the same bytes.
      decodeMessage(p);
      measure(p, 1);
      lzwDecompress(p, 1 << 16);
    }
    // The fuzz reached deep paths, not only the first check.
    for (const code of ['ok', 'TRUNCATED', 'BAD_MSGPACK', 'UNKNOWN_TYPE', 'BAD_COMPRESSION', 'BAD_CRC'])
      expect(outcomes.get(code) ?? 0).toBeGreaterThan(0);
  });

  it('2000 random and mutated streams, fed in random chunks', () => {
    const r = xorshift(0x57ea);
    const pp = encodeStreamFrame({
      type: 'pushPull',
      value: {
        join: false,
        states: Array.from({ length: 4 }, (_, i) => ({
          name: `n${i}`,
          addr: new Uint8Array([10, 0, 0, i]),
          port: 7946,
          meta: null,
          incarnation: i,
          state: 0,
          vsn,
        })),
        userState: new Uint8Array(10),
      },
    });
    const seeds = [pp, encodeStreamFrame({ type: 'user', value: new Uint8Array(20) }), compressMessage(pp)];
    for (let i = 0; i < 2000; i++) {
      const s = (seeds[r() % seeds.length] as Uint8Array).slice();
      for (let k = r() % 4; k > 0; k--) s[r() % s.length] = r() & 0xff;
      // Feed growing prefixes as a socket would; results must stay well-formed at every step.
      let at = 0;
      while (at < s.length) {
        at = Math.min(s.length, at + 1 + (r() % 40));
        const kind = streamOutcome(s.subarray(0, at));
        if (kind !== 'more') break;
      }
    }
    // And the LZW decoder on pure noise.
    for (let i = 0; i < 300; i++) {
      const noise = new Uint8Array(1 + (r() % 200)).map(() => r() & 0xff);
      const out = lzwDecompress(noise, 1 << 16);
      expect(out.ok || ['TRUNCATED', 'BAD_COMPRESSION', 'TOO_LARGE'].includes(out.code)).toBe(true);
    }
    expect(lzwDecompress(lzwCompress(pp))).toMatchObject({ ok: true });
  });
});
