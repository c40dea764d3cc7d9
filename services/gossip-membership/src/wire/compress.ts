// memberlist's compress wrapper (type 9; util.go compressPayload / decompressPayload):
//
//   [9] + msgpack compress{Algo: 0, Buf: lzw(inner message)}
//
// Algo 0 is LZW (lzw.ts); any other value is refused. The inner message is itself a complete
// message ([type]+body), which may be a compound or another compress (the receiver recurses).
// On UDP Go compresses only when the result is SHORTER; on TCP streams it always compresses.
// Decompression is capped (40 MiB) and an empty result is refused (memberlist post-0.6), because
// an empty message has no type byte to dispatch on anyway.
// Codes: BAD_MSGPACK / TRUNCATED (the wrapper), BAD_COMPRESSION (unknown Algo, bad LZW, empty),
// TOO_LARGE.

import { MessageType } from '../protocol/messages.js';
import { writeCompress } from './codec.js';
import { lzwCompress, lzwDecompress, MAX_DECOMPRESSED_BYTES } from './lzw.js';
import { decodeStruct } from './msgpack-struct.js';
import { scratchWriter } from './msgpack-writer.js';

/** compress.Algo for LZW, the only algorithm memberlist defines. */
const LZW_ALGO = 0;

/** [9]+compress{Algo:0, Buf: lzw(msg)}. */
export function compressMessage(msg: Uint8Array): Uint8Array {
  const buf = lzwCompress(msg);
  const w = scratchWriter.reset();
  w.byte(MessageType.compress);
  writeCompress(w, { algo: LZW_ALGO, buf });
  return w.finish();
}

/** UDP rule: the compressed form if it is strictly shorter, else the message itself. */
export function compressIfSmaller(msg: Uint8Array): Uint8Array {
  const c = compressMessage(msg);
  return c.length < msg.length ? c : msg;
}

export type DecompressResult =
  | { ok: true; payload: Uint8Array; end: number }
  | {
      ok: false;
      code: 'TRUNCATED' | 'BAD_MSGPACK' | 'TOO_DEEP' | 'BAD_COMPRESSION' | 'TOO_LARGE';
      detail: string;
    };

/**
 * Decodes the compress struct at `offset` (just after the 9) and inflates Buf. `end` = offset
 * after the struct (for streams, where more bytes may follow).
 */
export function decompressMessage(
  buf: Uint8Array,
  offset: number,
  maxOutput = MAX_DECOMPRESSED_BYTES,
): DecompressResult {
  const r = decodeStruct(buf, offset, [
    { name: 'Algo', kind: 'uint8' },
    { name: 'Buf', kind: 'bytes' },
  ]);
  if (!r.ok) return r;
  const algo = r.values[0] as number;
  if (algo !== LZW_ALGO)
    return { ok: false, code: 'BAD_COMPRESSION', detail: `Cannot decompress unknown algorithm ${algo}` };
  const data = (r.values[1] as Uint8Array | null) ?? new Uint8Array(0);
  const out = lzwDecompress(data, maxOutput);
  if (!out.ok) return out.code === 'TRUNCATED' ? { ...out, code: 'BAD_COMPRESSION' } : out;
  if (out.value.length === 0)
    return { ok: false, code: 'BAD_COMPRESSION', detail: 'decompressed to nothing' };
  return { ok: true, payload: out.value, end: r.end };
}
