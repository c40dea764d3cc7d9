// memberlist compound messages (type 7; util.go makeCompoundMessage(s) / decodeCompoundMessage;
// docs/wire.md §6.4):
//
//   [7][count: u8][count × u16 big-endian part lengths][parts concatenated]
//
// Each part is a complete message ([type]+body), possibly itself a compound or a compress. A
// count is at most 255 and a part at most 65535 bytes (the u16).
//
// 127, NOT 255, PARTS PER COMPOUND WHEN SENDING: memberlist 0.2.2 (Debian's, and every release
// before the fix) computes the offset of the first part as `numParts*2` in uint8 arithmetic, so a
// compound of 128–255 parts decodes to shifted garbage on those nodes (checked against 0.2.2's
// decodeCompoundMessage: 127 parts intact, 128/130/255 corrupted, no error reported). Our senders
// therefore split at SAFE_COMPOUND_PARTS = 127 by default; 255 is accepted on receive.
//   - makeCompoundMessages splits a list into compounds of ≤ maxParts (memberlist ≥ 0.3.2 splits
//     at 255). Like Go, a last chunk of ONE part is still a compound.
//   - packPackets is the piggyback packer: it fills packets IN ORDER up to a byte budget (the UDP
//     buffer, 1400 by default, minus label/encryption overheads), a packet of one message is sent
//     plain (no compound wrapper), and a message larger than the budget goes out alone
//     (and is counted as `oversized`: the caller decides whether to send it).
// Decoding follows Go: a missing count byte or a length table cut short is an error (TRUNCATED);
// parts shorter than their declared length keep the complete parts and report `truncated` =
// the number of parts lost (Go logs "compound request had N truncated messages"); bytes after the
// last part are ignored. Offsets are computed correctly for any count (no uint8 wrap).

import { MessageType } from '../protocol/messages.js';

/** Format limit (the count byte); accepted on receive. */
const MAX_COMPOUND_PARTS = 255;
/** Largest compound every memberlist version decodes intact (0.2.2's uint8 offset bug). */
const SAFE_COMPOUND_PARTS = 127;
const MAX_PART_BYTES = 65_535;
/** Type byte + count byte. */
const COMPOUND_HEADER_BYTES = 2;
/** u16 length per part. */
const COMPOUND_PART_OVERHEAD = 2;

/** One compound of ≤ 255 parts, each ≤ 65535 bytes (RangeError otherwise: a caller bug). */
export function makeCompoundMessage(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > MAX_COMPOUND_PARTS) throw new RangeError(`compound of ${parts.length} parts`);
  let total = COMPOUND_HEADER_BYTES + COMPOUND_PART_OVERHEAD * parts.length;
  for (const p of parts) {
    if (p.length > MAX_PART_BYTES) throw new RangeError(`compound part of ${p.length} bytes`);
    total += p.length;
  }
  const out = new Uint8Array(total);
  out[0] = MessageType.compound;
  out[1] = parts.length;
  let at = COMPOUND_HEADER_BYTES;
  for (const p of parts) {
    out[at++] = p.length >>> 8;
    out[at++] = p.length & 0xff;
  }
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Go's makeCompoundMessages: chunks of `maxParts` (default 127, see the header), each a compound. */
export function makeCompoundMessages(
  parts: readonly Uint8Array[],
  maxParts: number = SAFE_COMPOUND_PARTS,
): Uint8Array[] {
  const step = Math.max(1, Math.min(MAX_COMPOUND_PARTS, maxParts));
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i += step) out.push(makeCompoundMessage(parts.slice(i, i + step)));
  return out;
}

/** Size of a compound holding parts of these sizes. */
export function compoundSize(partSizes: readonly number[]): number {
  return partSizes.reduce((s, n) => s + COMPOUND_PART_OVERHEAD + n, COMPOUND_HEADER_BYTES);
}

export interface Packed {
  /** Each packet: a plain message when alone, else a compound. */
  packets: Uint8Array[];
  /** Messages larger than the budget on their own (sent alone anyway). */
  oversized: number;
}

/**
 * Packs encoded messages, in order, into as few packets as fit under `budget` bytes each.
 * A message that cannot share a packet without exceeding the budget starts a new one.
 */
export function packPackets(
  messages: readonly Uint8Array[],
  budget: number,
  maxParts: number = SAFE_COMPOUND_PARTS,
): Packed {
  const limit = Math.max(1, Math.min(MAX_COMPOUND_PARTS, maxParts));
  const packets: Uint8Array[] = [];
  let oversized = 0;
  let current: Uint8Array[] = [];
  let currentSize = COMPOUND_HEADER_BYTES;
  const flush = () => {
    if (current.length === 1 && current[0] !== undefined) packets.push(current[0]);
    else if (current.length > 1) packets.push(makeCompoundMessage(current));
    current = [];
    currentSize = COMPOUND_HEADER_BYTES;
  };
  for (const m of messages) {
    const add = COMPOUND_PART_OVERHEAD + m.length;
    const fitsAsPart = m.length <= MAX_PART_BYTES;
    if (current.length > 0 && (!fitsAsPart || currentSize + add > budget || current.length >= limit)) flush();
    if (m.length > budget) oversized++;
    current.push(m);
    currentSize += add;
    if (!fitsAsPart) flush();
  }
  flush();
  return { packets, oversized };
}

export type CompoundResult =
  | { ok: true; parts: Uint8Array[]; truncated: number }
  | { ok: false; code: 'TRUNCATED'; detail: string };

/** Splits a compound BODY (the bytes after the 7). Parts are views into `body`. */
export function decodeCompound(body: Uint8Array): CompoundResult {
  const n = body[0];
  if (n === undefined) return { ok: false, code: 'TRUNCATED', detail: 'missing compound length byte' };
  if (body.length < 1 + 2 * n) return { ok: false, code: 'TRUNCATED', detail: 'truncated len slice' };
  const parts: Uint8Array[] = [];
  let at = 1 + 2 * n;
  for (let i = 0; i < n; i++) {
    const len = ((body[1 + 2 * i] ?? 0) << 8) | (body[2 + 2 * i] ?? 0);
    if (at + len > body.length) return { ok: true, parts, truncated: n - i };
    parts.push(body.subarray(at, at + len));
    at += len;
  }
  return { ok: true, parts, truncated: 0 };
}
