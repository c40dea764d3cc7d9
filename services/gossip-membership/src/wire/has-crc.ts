// memberlist's hasCrc wrapper (type 12, protocol version 5; net.go rawSendMsgPacket/ingestPacket),
// with the CRC32-IEEE of Go's hash/crc32.ChecksumIEEE: the zlib/Ethernet polynomial 0xEDB88320,
// reflected, which is what node:zlib's crc32 computes.
//
//   [12][CRC32-IEEE(msg), 4 bytes BIG-endian][msg]
//
// Go adds it only for destinations it knows with PMax ≥ 5. On receive (ingestPacket) it is checked
// only at the top of a packet, only when the packet has ≥ 5 bytes and starts with 12; a mismatch
// drops the packet. A 12 shorter than 5 bytes falls through to the dispatcher, which rejects
// type 12 ("not supported") — reported here as TRUNCATED. The CRC is over the bytes after the
// 5-byte header. Example: 0c a8cb2def 0282a75061796c6f6164c0a55365714e6f07 (docs/wire.md §6.4).
import { crc32 } from 'node:zlib';

const HAS_CRC_TYPE = 12;
const CRC_HEADER_BYTES = 5;

/** [12][crc32 BE][msg]. */
export function addCrc(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(CRC_HEADER_BYTES + msg.length);
  const c = crc32(msg);
  out[0] = HAS_CRC_TYPE;
  out[1] = c >>> 24;
  out[2] = (c >>> 16) & 0xff;
  out[3] = (c >>> 8) & 0xff;
  out[4] = c & 0xff;
  out.set(msg, CRC_HEADER_BYTES);
  return out;
}

export type CrcResult =
  | { ok: true; payload: Uint8Array; hadCrc: boolean }
  | { ok: false; code: 'BAD_CRC' | 'TRUNCATED'; detail: string };

/**
 * Receive side: if the packet is hasCrc-wrapped, verify and strip the wrapper; otherwise return it
 * unchanged (hadCrc false). The payload is a view into `packet`, not a copy.
 */
export function stripCrc(packet: Uint8Array): CrcResult {
  if (packet[0] !== HAS_CRC_TYPE) return { ok: true, payload: packet, hadCrc: false };
  if (packet.length < CRC_HEADER_BYTES)
    return { ok: false, code: 'TRUNCATED', detail: `hasCrc packet of ${packet.length} bytes` };
  const expected =
    (((packet[1] ?? 0) << 24) | ((packet[2] ?? 0) << 16) | ((packet[3] ?? 0) << 8) | (packet[4] ?? 0)) >>> 0;
  const payload = packet.subarray(CRC_HEADER_BYTES);
  const actual = crc32(payload);
  if (actual !== expected)
    return {
      ok: false,
      code: 'BAD_CRC',
      detail: `crc ${actual.toString(16).padStart(8, '0')} != ${expected.toString(16).padStart(8, '0')}`,
    };
  return { ok: true, payload, hadCrc: true };
}
