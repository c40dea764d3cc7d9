// Encoded size of a UDP-level message, in bytes, without encoding it: the engine's default sizeOf
// (EngineOptions.sizeOf; piggyback budgets, compound packing) and the simulator's byte counts
// (support/sim-scale.ts). Exact: it counts what codec.ts writes through msgpack-writer.ts, the forms
// go-msgpack 0.5.x writes (docs/wire.md §4.4), so estimateSize(m) === encodeMessage(m).length
// (test/message-size.test.ts checks this over generated messages):
//   type byte, then a fixmap (every memberlist struct has < 16 fields) whose keys are the Go field
//   names as fixstr (1 + length each);
//   strings and []byte alike in the raw-str family: fixstr below 32 bytes (1 + n), str16 below
//   65 536 (3 + n), str32 beyond (5 + n); a nil []byte is nil (1 byte);
//   unsigned integers in their smallest form: fixint < 128 (1), u8 (2), u16 (3), u32 (5), u64 (9);
//   bool 1 byte; omitempty Source* fields left out when empty or zero;
//   a user message: the type byte and its payload as is.
import type { Message } from '../protocol/messages.js';

/** UTF-8 length of a string (the ASCII node names of the hot path without an encoder call). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      // A surrogate pair is one 4-byte code point; a lone surrogate is written as U+FFFD (3 bytes).
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i += 1;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
/** A raw-str header and its n bytes. */
function raw(n: number): number {
  return n < 32 ? 1 + n : n < 65_536 ? 3 + n : 5 + n;
}
function str(s: string): number {
  return raw(utf8Length(s));
}
function bytes(b: Uint8Array | null | undefined): number {
  return b === null || b === undefined ? 1 : raw(b.length);
}
function uint(v: number): number {
  return v < 128 ? 1 : v < 256 ? 2 : v < 65_536 ? 3 : v < 4_294_967_296 ? 5 : 9;
}
/** fixmap header + the keys (fixstr) of the fields present. */
function map(keys: readonly string[]): number {
  return 1 + keys.reduce((sum, k) => sum + 1 + k.length, 0);
}
// Precomputed once: estimateSize runs for every queued broadcast and every piggyback decision.
const MAP_PING = map(['Node', 'SeqNo']);
const MAP_INDIRECT = map(['Nack', 'Node', 'Port', 'SeqNo', 'Target']);
const MAP_ACK = map(['Payload', 'SeqNo']);
const MAP_NACK = map(['SeqNo']);
const MAP_SUSPECT = map(['From', 'Incarnation', 'Node']);
const MAP_ALIVE = map(['Addr', 'Incarnation', 'Meta', 'Node', 'Port', 'Vsn']);
const MAP_ERR = map(['Error']);
const BOOL = 1;
function source(b: { sourceAddr?: Uint8Array; sourcePort?: number; sourceNode?: string }): number {
  let n = 0;
  if (b.sourceAddr !== undefined && b.sourceAddr.length > 0)
    n += 1 + 'SourceAddr'.length + bytes(b.sourceAddr);
  if (b.sourceNode !== undefined && b.sourceNode !== '') n += 1 + 'SourceNode'.length + str(b.sourceNode);
  if (b.sourcePort !== undefined && b.sourcePort > 0) n += 1 + 'SourcePort'.length + uint(b.sourcePort);
  return n;
}

export function estimateSize(m: Message): number {
  switch (m.type) {
    case 'ping':
      return 1 + MAP_PING + str(m.body.node) + uint(m.body.seqNo) + source(m.body);
    case 'indirectPing':
      return (
        1 +
        MAP_INDIRECT +
        BOOL +
        str(m.body.node) +
        uint(m.body.port) +
        uint(m.body.seqNo) +
        bytes(m.body.target) +
        source(m.body)
      );
    case 'ackResp':
      return 1 + MAP_ACK + bytes(m.body.payload) + uint(m.body.seqNo);
    case 'nackResp':
      return 1 + MAP_NACK + uint(m.body.seqNo);
    case 'suspect':
    case 'dead':
      return 1 + MAP_SUSPECT + str(m.body.from) + uint(m.body.incarnation) + str(m.body.node);
    case 'alive':
      return (
        1 +
        MAP_ALIVE +
        bytes(m.body.addr) +
        uint(m.body.incarnation) +
        bytes(m.body.meta) +
        str(m.body.node) +
        uint(m.body.port) +
        bytes(m.body.vsn)
      );
    case 'user':
      return 1 + m.body.length;
    case 'err':
      return 1 + MAP_ERR + str(m.body.error);
  }
}
