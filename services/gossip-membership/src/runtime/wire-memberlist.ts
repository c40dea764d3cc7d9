// The memberlist wire format for the driver: adapts the codec (protocol/packet.ts for UDP,
// protocol/stream.ts for TCP frames) to the WireCodec interface and maps its error codes to the
// `reason` label of gossip_dropped_packets_total. Unlabelled, like memberlist 0.2.2 (labels do not
// exist there); compression as EnableCompression says (UDP only when shorter, TCP always — Go's
// rules); encryption when the keyring holds a key (protocol/security.ts codecSecurity: seal with
// the primary, open with any key; GossipVerifyIncoming/Outgoing for a plaintext→encrypted rollout).
import type { DropReason } from '../metrics.js';
import { encodedSize } from '../protocol/codec.js';
import type { ProtocolConfig } from '../protocol/config.js';
import type { Keyring } from '../protocol/keyring.js';
import type { Message } from '../protocol/messages.js';
import { decodePacket, encodePacket, type PacketErrorCode } from '../protocol/packet.js';
import { codecSecurity } from '../protocol/security.js';
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

export interface MemberlistCodecOptions {
  /** Encryption keys (empty ring = plaintext cluster). */
  keyring?: Keyring;
  /** memberlist GossipVerifyIncoming (default true): refuse what does not decrypt. */
  verifyIncoming?: boolean;
  /** memberlist GossipVerifyOutgoing (default true): seal what we send when a key is installed. */
  verifyOutgoing?: boolean;
}

export function createMemberlistCodec(
  config: Pick<ProtocolConfig, 'enableCompression' | 'protocolVersion'>,
  options: MemberlistCodecOptions = {},
): WireCodec {
  const compress = config.enableCompression;
  const security = options.keyring
    ? codecSecurity(options.keyring, {
        // Go seals with version 0 (PKCS7 padding) only when it speaks protocol version 1.
        version: config.protocolVersion === 1 ? 0 : 1,
        ...(options.verifyIncoming !== undefined ? { verifyIncoming: options.verifyIncoming } : {}),
        ...(options.verifyOutgoing !== undefined ? { verifyOutgoing: options.verifyOutgoing } : {}),
      })
    : { decode: { allowPlaintext: true }, encode: {}, packetOverhead: 0 };
  return {
    encodePacket: (messages, crc) => encodePacket(messages, { compress, crc, ...security.encode }),
    decodePacket(bytes) {
      const r = decodePacket(bytes, security.decode);
      if (!r.ok) return { ok: false, reason: dropReason(r.code), detail: `${r.code}: ${r.detail}` };
      const dropped = r.errors.map((e) => ({ reason: dropReason(e.code), detail: `${e.code}: ${e.detail}` }));
      return dropped.length > 0
        ? { ok: true, messages: r.messages, dropped }
        : { ok: true, messages: r.messages };
    },
    encodeStream: (frame) => encodeStreamFrame(frame, { compress, ...security.encode }),
    parseStream(buffered) {
      const r = parseStreamFrame(buffered, security.decode);
      if (r.kind === 'frame') return { kind: 'frame', value: r.value };
      if (r.kind === 'error') return { kind: 'error', reason: `${r.code}: ${r.reason}` };
      return r;
    },
    sizeOf: (m: Message) => encodedSize(m),
    packetOverhead: security.packetOverhead,
    streamDropReason: (reason) => dropReason(reason.split(':')[0] as StreamErrorCode),
  };
}
