// measure(buf, offset): how many bytes the ONE complete msgpack object at `offset` takes, or that
// the buffer ends before it does, without building the object. The TCP reader needs exactly this:
// memberlist streams carry no overall length (docs/wire.md §7.1), so a header or node state has
// arrived when measure says it is complete. A general-purpose decoder only decodes whole values
// (and fails on a truncated one), hence this walker. Iterative, with a nesting limit, so a crafted
// `[[[[…` cannot exhaust the stack.
import { be16, be32, msgpackFail as fail, type MsgpackError } from './msgpack-format.js';

/** Nesting limit for skipped/measured values (memberlist structs are flat; 32 is generous). */
const MAX_DEPTH = 32;

export type MeasureResult = { ok: true; size: number } | { ok: false; code: 'INCOMPLETE' } | MsgpackError;

const INCOMPLETE = { ok: false, code: 'INCOMPLETE' } as const;

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
