// estimateSize (message-size.ts) is exact: for generated messages of every UDP type, with strings,
// byte slices and integers on both sides of each msgpack size boundary, it equals the length of
// what the codec writes.
import { describe, expect, it } from 'vitest';
import type { Message } from '../src/protocol/messages.js';
import { createRng, type Rng } from '../src/protocol/prng.js';
import { encodeMessage } from '../src/wire/codec.js';
import { estimateSize } from '../src/wire/message-size.js';

/** Lengths around the fixstr / str16 / str32 limits (31|32, 65535|65536), and small ones. */
const LENGTHS = [0, 1, 5, 30, 31, 32, 33, 200, 255, 256, 1000, 65_534, 65_535, 65_536, 70_000];
/** Integers around the fixint / u8 / u16 / u32 limits. */
const INTS = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295];
/** Characters of 1, 2, 3 and 4 UTF-8 bytes, and a lone surrogate (written as U+FFFD, 3 bytes). */
const CHARS = ['a', 'Z', '-', 'é', '€', '😀', '\ud800'];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)] as T;
const str = (rng: Rng): string => {
  const n = pick(rng, LENGTHS);
  // Mostly ASCII (node names), sometimes any of CHARS.
  if (rng.next() < 0.5) return 'n'.repeat(n);
  let s = '';
  while (s.length < n) s += pick(rng, CHARS);
  return s;
};
const bytes = (rng: Rng): Uint8Array => new Uint8Array(pick(rng, LENGTHS)).fill(rng.int(256));
const maybeBytes = (rng: Rng): Uint8Array | null => (rng.next() < 0.2 ? null : bytes(rng));
const int = (rng: Rng): number => pick(rng, INTS);
const source = (rng: Rng) => ({
  ...(rng.next() < 0.5 ? { sourceAddr: rng.next() < 0.2 ? new Uint8Array(0) : bytes(rng) } : {}),
  ...(rng.next() < 0.5 ? { sourcePort: int(rng) } : {}),
  ...(rng.next() < 0.5 ? { sourceNode: rng.next() < 0.2 ? '' : str(rng) } : {}),
});

function message(rng: Rng): Message {
  switch (rng.int(9)) {
    case 0:
      return { type: 'ping', body: { seqNo: int(rng), node: str(rng), ...source(rng) } };
    case 1:
      return {
        type: 'indirectPing',
        body: {
          seqNo: int(rng),
          target: bytes(rng),
          port: int(rng),
          node: str(rng),
          nack: rng.next() < 0.5,
          ...source(rng),
        },
      };
    case 2:
      return { type: 'ackResp', body: { seqNo: int(rng), payload: maybeBytes(rng) } };
    case 3:
      return { type: 'nackResp', body: { seqNo: int(rng) } };
    case 4:
      return { type: 'suspect', body: { incarnation: int(rng), node: str(rng), from: str(rng) } };
    case 5:
      return { type: 'dead', body: { incarnation: int(rng), node: str(rng), from: str(rng) } };
    case 6:
      return {
        type: 'alive',
        body: {
          incarnation: int(rng),
          node: str(rng),
          addr: bytes(rng),
          port: int(rng),
          meta: maybeBytes(rng),
          vsn: bytes(rng),
        },
      };
    case 7:
      return { type: 'user', body: bytes(rng) };
    default:
      return { type: 'err', body: { error: str(rng) } };
  }
}

describe('estimateSize', () => {
  it('equals the encoded length of 2 000 generated messages of every type', () => {
    const rng = createRng(20_260_101);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const m = message(rng);
      seen.add(m.type);
      expect(estimateSize(m), `${m.type} #${i}`).toBe(encodeMessage(m).length);
    }
    expect(seen.size).toBe(9);
  });

  it('equals the encoded length of the alive of docs/wire.md §4.4 (a 38-byte name: str16, not str8)', () => {
    const m: Message = {
      type: 'alive',
      body: {
        node: 'ts-node-'.padEnd(38, 'x'),
        incarnation: 1,
        addr: Uint8Array.of(127, 0, 0, 1),
        port: 7946,
        meta: new Uint8Array(0),
        vsn: Uint8Array.of(1, 5, 2, 0, 0, 0),
      },
    };
    expect(estimateSize(m)).toBe(encodeMessage(m).length);
  });
});
