// The whole UDP path as two pure functions (memberlist net.go ingestPacket / handleCommand and
// sendMsg / rawSendMsgPacket; transport.go labelWrappedTransport; docs/wire.md §6).
//
// RECEIVE (decodePacket), outermost first:
//   1. label      [244][len][label] stripped and checked against the configured label (label.ts);
//   2. decrypt    if a Cipher is configured: open with AD = label; on failure, plaintext is tried
//                 only when `allowPlaintext` (memberlist GossipVerifyIncoming = false);
//   3. CRC        [12][crc32 BE] verified and stripped, TOP LEVEL ONLY (has-crc.ts);
//   4. dispatch   compound (7) and compress (9) are unwrapped recursively (nesting ≤ maxDepth,
//                 8 by default); ping, indirectPing, ackResp, nackResp, suspect, alive, dead and
//                 user (8, raw bytes to the end of the part) become Messages. Types that are valid
//                 but not on UDP (6 pushPull, 10 encrypt, 12 inside, 13 err) are UNSUPPORTED_TYPE,
//                 others UNKNOWN_TYPE, as Go's "msg type (%d) not supported".
// A failure of the packet as a whole (label, decrypt, CRC, an undecodable top-level message) is
// {ok:false, code}. Inside compounds each part stands alone, as in Go: good parts are delivered,
// bad parts and truncated parts are listed in `errors` (each with a code).
//
// SEND (encodePacket): messages → encoded → ONE packet when one message, else compound(s) (≤ 127
// parts each by default — memberlist 0.2.2 corrupts larger ones, see compound.ts; with
// `maxPacketSize`, packed in order under that many bytes, compound.ts packPackets)
// → per packet: compress (only if shorter, Go's UDP rule) → CRC (when the target's PMax ≥ 5) →
// encrypt (Cipher, AD = label) → label header. Budget note: `maxPacketSize` bounds the
// uncompressed message bytes; callers subtract label/encryption overheads themselves, like Go.
//
// Error codes: EMPTY, TRUNCATED, EMPTY_LABEL, LABEL_MISMATCH, DECRYPT_FAILED, BAD_CRC,
// UNKNOWN_TYPE, UNSUPPORTED_TYPE, BAD_MSGPACK, TOO_DEEP, BAD_COMPRESSION, TOO_LARGE.

import { type Message, MessageType } from '../protocol/messages.js';
import type { Cipher } from './cipher.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { decodeCompound, makeCompoundMessages, packPackets } from './compound.js';
import { compressIfSmaller, decompressMessage } from './compress.js';
import { addCrc, stripCrc } from './has-crc.js';
import { addLabel, checkLabel, labelBytes, removeLabel } from './label.js';
import { MAX_DECOMPRESSED_BYTES } from './lzw.js';

export type PacketErrorCode =
  | 'EMPTY'
  | 'TRUNCATED'
  | 'EMPTY_LABEL'
  | 'LABEL_MISMATCH'
  | 'DECRYPT_FAILED'
  | 'BAD_CRC'
  | 'UNKNOWN_TYPE'
  | 'UNSUPPORTED_TYPE'
  | 'BAD_MSGPACK'
  | 'TOO_DEEP'
  | 'BAD_COMPRESSION'
  | 'TOO_LARGE';

interface PacketError {
  code: PacketErrorCode;
  detail: string;
}

export interface PacketDecodeOptions {
  /** Configured label ('' or absent = none). */
  label?: string | Uint8Array;
  /** memberlist SkipInboundLabelCheck (label.ts). */
  skipInboundLabelCheck?: boolean;
  /** label.ts's lenient rule (edgefleet --label-migration). */
  lenientLabelCheck?: boolean;
  /** Encryption (another module implements AES-GCM); absent = plaintext cluster. */
  cipher?: Cipher;
  /** Accept plaintext when decryption fails (memberlist GossipVerifyIncoming = false). */
  allowPlaintext?: boolean;
  /** Cap on each decompression (default 40 MiB). */
  maxDecompressed?: number;
  /** Nesting limit for compound/compress (default 8). */
  maxDepth?: number;
}

export type PacketResult =
  | {
      ok: true;
      messages: Message[];
      /** Per-part failures inside compounds (the packet itself was accepted). */
      errors: PacketError[];
      /** The packet carried a valid hasCrc wrapper. */
      crc: boolean;
      /** The packet was encrypted and opened. */
      encrypted: boolean;
    }
  | ({ ok: false } & PacketError);

const UDP_TYPES = new Set<number>([
  MessageType.ping,
  MessageType.indirectPing,
  MessageType.ackResp,
  MessageType.nackResp,
  MessageType.suspect,
  MessageType.alive,
  MessageType.dead,
  MessageType.user,
]);

/** Decodes one received datagram. Never throws. */
export function decodePacket(packet: Uint8Array, opts: PacketDecodeOptions = {}): PacketResult {
  if (packet.length === 0) return { ok: false, code: 'EMPTY', detail: 'empty packet' };
  const split = removeLabel(packet);
  if (!split.ok) return split;
  const policy = {
    label: opts.label ?? '',
    skipInboundCheck: opts.skipInboundLabelCheck ?? false,
    lenient: opts.lenientLabelCheck ?? false,
  };
  const checked = checkLabel(split.label, split.present, policy);
  if (!checked.ok) return checked;
  let buf = split.rest;
  let encrypted = false;
  if (opts.cipher !== undefined) {
    const opened = opts.cipher.open(buf, checked.label);
    if (opened.ok) {
      buf = opened.plaintext;
      encrypted = true;
    } else if (!opts.allowPlaintext) {
      return { ok: false, code: 'DECRYPT_FAILED', detail: opened.detail };
    }
  }
  const crc = stripCrc(buf);
  if (!crc.ok) return crc;
  buf = crc.payload;

  const messages: Message[] = [];
  const errors: PacketError[] = [];
  const ctx = {
    messages,
    errors,
    maxDepth: opts.maxDepth ?? 8,
    maxDecompressed: opts.maxDecompressed ?? MAX_DECOMPRESSED_BYTES,
  };
  const top = dispatch(buf, 0, ctx);
  if (top !== null) return { ok: false, ...top };
  return { ok: true, messages, errors, crc: crc.hadCrc, encrypted };
}

interface Ctx {
  messages: Message[];
  errors: PacketError[];
  maxDepth: number;
  maxDecompressed: number;
}

/** Handles one message; returns its own failure (null if it or its parts were handled). */
function dispatch(buf: Uint8Array, depth: number, ctx: Ctx): PacketError | null {
  const t = buf[0];
  if (t === undefined) return { code: 'EMPTY', detail: 'missing message type byte' };
  if (t === MessageType.compound || t === MessageType.compress) {
    if (depth >= ctx.maxDepth)
      return { code: 'TOO_DEEP', detail: `wrappers nested deeper than ${ctx.maxDepth}` };
    if (t === MessageType.compress) {
      const d = decompressMessage(buf, 1, ctx.maxDecompressed);
      if (!d.ok) return { code: d.code, detail: d.detail };
      return dispatch(d.payload, depth + 1, ctx);
    }
    const c = decodeCompound(buf.subarray(1));
    if (!c.ok) return c;
    if (c.truncated > 0)
      ctx.errors.push({ code: 'TRUNCATED', detail: `compound had ${c.truncated} truncated messages` });
    for (const part of c.parts) {
      const e = dispatch(part, depth + 1, ctx);
      if (e !== null) ctx.errors.push(e);
    }
    return null;
  }
  if (!UDP_TYPES.has(t)) {
    return t <= MessageType.err
      ? { code: 'UNSUPPORTED_TYPE', detail: `msg type (${t}) not supported on UDP` }
      : { code: 'UNKNOWN_TYPE', detail: `msg type (${t}) not supported` };
  }
  const m = decodeMessage(buf);
  if (!m.ok) return { code: m.code, detail: m.detail };
  ctx.messages.push(m.value as Message);
  return null;
}

export interface PacketEncodeOptions {
  /** Compress each packet when that makes it shorter (memberlist EnableCompression). */
  compress?: boolean;
  /** Wrap in hasCrc (the target's PMax ≥ 5). */
  crc?: boolean;
  label?: string | Uint8Array;
  cipher?: Cipher;
  /** Pack under this many bytes per packet (before compression/CRC/encryption/label). */
  maxPacketSize?: number;
  /** Parts per compound (default 127, safe for memberlist 0.2.2; at most 255). */
  maxCompoundParts?: number;
}

/** Encodes one UDP send: one packet per ≤ 255 messages (or per budget), each fully wrapped. */
export function encodePacket(messages: readonly Message[], opts: PacketEncodeOptions = {}): Uint8Array[] {
  const encoded = messages.map(encodeMessage);
  let bodies: Uint8Array[];
  if (opts.maxPacketSize !== undefined)
    bodies = packPackets(encoded, opts.maxPacketSize, opts.maxCompoundParts).packets;
  else if (encoded.length === 1 && encoded[0] !== undefined) bodies = [encoded[0]];
  else bodies = makeCompoundMessages(encoded, opts.maxCompoundParts);
  return bodies.map((b) => wrapPacket(b, opts));
}

/** Applies compress → CRC → encrypt → label to one already-built message or compound. */
export function wrapPacket(
  msg: Uint8Array,
  opts: Omit<PacketEncodeOptions, 'maxPacketSize'> = {},
): Uint8Array {
  let out = msg;
  if (opts.compress) out = compressIfSmaller(out);
  if (opts.crc) out = addCrc(out);
  const label = labelBytes(opts.label ?? '');
  if (opts.cipher !== undefined) out = opts.cipher.seal(out, label);
  return addLabel(out, label);
}
