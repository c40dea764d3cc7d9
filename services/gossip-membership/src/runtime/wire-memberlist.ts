// The memberlist wire format for the driver: adapts the codec (protocol/packet.ts for UDP,
// protocol/stream.ts for TCP frames) to the WireCodec interface and maps its error codes to the
// `reason` label of gossip_dropped_packets_total. Plaintext and unlabelled, like the legacy Go
// program with memberlist 0.2.2 (labels do not exist there); compression as EnableCompression says
// (UDP only when shorter, TCP always — Go's rules).
import type { DropReason } from '../metrics.js';
import { encodedSize } from '../protocol/codec.js';
import type { ProtocolConfig } from '../protocol/config.js';
import type { Message } from '../protocol/messages.js';
import { decodePacket, encodePacket, type PacketErrorCode } from '../protocol/packet.js';
import { encodeStreamFrame, parseStreamFrame, type StreamErrorCode } from '../protocol/stream.js';
import type { WireCodec } from './wire.js';

/** Codec error code → drop reason. */
export function dropReason(code: PacketErrorCode | StreamErrorCode): DropReason {
  switch (code) {
    case 'BAD_CRC':
      return 'crc';
    case 'TRUNCATED':
      return 'truncated';
    case 'EMPTY_LABEL':
    case 'LABEL_MISMATCH':
      return 'label';
    case 'DECRYPT_FAILED':
    case 'ENCRYPTION_NOT_CONFIGURED':
    case 'ENCRYPTION_REQUIRED':
      return 'decrypt';
    case 'BAD_COMPRESSION':
      return 'decompress';
    case 'TOO_LARGE':
      return 'too_large';
    default:
      return 'decode';
  }
}

export function createMemberlistCodec(config: Pick<ProtocolConfig, 'enableCompression'>): WireCodec {
  const compress = config.enableCompression;
  return {
    encodePacket: (messages, crc) => encodePacket(messages, { compress, crc }),
    decodePacket(bytes) {
      const r = decodePacket(bytes);
      if (!r.ok) return { ok: false, reason: dropReason(r.code), detail: `${r.code}: ${r.detail}` };
      const dropped = r.errors.map((e) => ({ reason: dropReason(e.code), detail: `${e.code}: ${e.detail}` }));
      return dropped.length > 0
        ? { ok: true, messages: r.messages, dropped }
        : { ok: true, messages: r.messages };
    },
    encodeStream: (frame) => encodeStreamFrame(frame, { compress }),
    parseStream(buffered) {
      const r = parseStreamFrame(buffered);
      if (r.kind === 'frame') return { kind: 'frame', value: r.value };
      if (r.kind === 'error') return { kind: 'error', reason: `${r.code}: ${r.reason}` };
      return r;
    },
    sizeOf: (m: Message) => encodedSize(m),
  };
}
