// Encoded size of a UDP-level message, in bytes, for budgeting piggybacked gossip without the codec.
//
// It follows the encoding the TS codec uses (docs/wire.md §4.4): type byte + a msgpack map with the
// Go PascalCase keys as fixstr; strings as fixstr/str8/str16; bytes as bin8/bin16 (nil = 1 byte);
// unsigned integers in their smallest form; omitempty fields left out. The driver may inject the
// codec's exact size instead (EngineOptions.sizeOf); this estimate is exact for that encoding.

import type { Message } from './messages.js';

function str(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      n = Buffer.byteLength(s, 'utf8');
      break;
    }
  }
  return n < 32 ? 1 + n : n < 256 ? 2 + n : n < 65_536 ? 3 + n : 5 + n;
}
function bin(b: Uint8Array | null | undefined): number {
  if (b === null || b === undefined) return 1;
  const n = b.length;
  return n < 256 ? 2 + n : n < 65_536 ? 3 + n : 5 + n;
}
function uint(v: number): number {
  return v < 128 ? 1 : v < 256 ? 2 : v < 65_536 ? 3 : 5;
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
function source(b: { sourceAddr?: Uint8Array; sourcePort?: number; sourceNode?: string }): number {
  let n = 0;
  if (b.sourceAddr !== undefined && b.sourceAddr.length > 0) n += 1 + 'SourceAddr'.length + bin(b.sourceAddr);
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
        1 +
        str(m.body.node) +
        uint(m.body.port) +
        uint(m.body.seqNo) +
        bin(m.body.target) +
        source(m.body)
      );
    case 'ackResp':
      return 1 + MAP_ACK + bin(m.body.payload) + uint(m.body.seqNo);
    case 'nackResp':
      return 1 + MAP_NACK + uint(m.body.seqNo);
    case 'suspect':
    case 'dead':
      return 1 + MAP_SUSPECT + str(m.body.from) + uint(m.body.incarnation) + str(m.body.node);
    case 'alive':
      return (
        1 +
        MAP_ALIVE +
        bin(m.body.addr) +
        uint(m.body.incarnation) +
        bin(m.body.meta) +
        str(m.body.node) +
        uint(m.body.port) +
        bin(m.body.vsn)
      );
    case 'user':
      return 1 + m.body.length;
    case 'err':
      return 1 + MAP_ERR + str(m.body.error);
  }
}
