// The memberlist wire format for the driver: adapts the codec (wire/packet.ts for UDP,
// wire/stream.ts for TCP frames) to the WireCodec interface and maps its error codes to the
// `reason` label of gossip_dropped_packets_total. Unlabelled by default, like memberlist 0.2.2
// (which has no labels); with a label (memberlist ≥ 0.3 Config.Label) every packet and every stream
// we dial carries the header, the label is the encryption's additional data, and inbound traffic
// with another label or none is dropped (reason `label`; wire/label.ts: memberlist's
// SkipInboundLabelCheck, and edgefleet's lenient migration rule with labelMigration). Compression as EnableCompression says (UDP only when shorter, TCP always — Go's
// rules); encryption when the keyring holds a key (wire/security.ts codecSecurity: seal with
// the primary, open with any key; GossipVerifyIncoming/Outgoing for a plaintext→encrypted rollout).

import type { Keyring } from '../keyring/keyring.js';
import type { DropReason } from '../metrics.js';
import type { ProtocolConfig } from '../protocol/config.js';
import type { Message } from '../protocol/messages.js';
import { encodedSize } from '../wire/codec.js';
import { checkLabel, labelBytes, labelOverhead, readStreamLabel } from '../wire/label.js';
import { decodePacket, encodePacket, type PacketErrorCode } from '../wire/packet.js';
import { codecSecurity } from '../wire/security.js';
import { encodeStreamFrame, parseStreamFrame, type StreamErrorCode } from '../wire/stream.js';
import type { InboundStreamCodec, WireCodec } from './wire.js';

/** Codec error code → drop reason. */
function dropReason(code: PacketErrorCode | StreamErrorCode): DropReason {
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
  /** memberlist Config.Label (≤ 255 bytes; '' or absent = none). */
  label?: string;
  /**
   * memberlist Config.SkipInboundLabelCheck (--skip-inbound-label-check): inbound traffic is taken
   * to carry no label header (a layer below removed it) and is authenticated with our label; a
   * packet or stream that still starts with a label header is dropped.
   */
  skipInboundLabelCheck?: boolean;
  /**
   * edgefleet --label-migration: label.ts's lenient rule (an empty label on either side matches
   * any), for moving a running cluster on or off a label. Takes precedence over skipInboundLabelCheck.
   */
  labelMigration?: boolean;
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
  const label = labelBytes(options.label ?? '');
  const lenient = options.labelMigration ?? false;
  const skipInboundLabelCheck = options.skipInboundLabelCheck ?? false;
  const policy = { label, lenient, skipInboundCheck: skipInboundLabelCheck };
  const encodePacketOpts = { compress, label, ...security.encode };
  const decodePacketOpts = { ...security.decode, label, lenientLabelCheck: lenient, skipInboundLabelCheck };
  const requestOpts = { compress, label, dialling: true, ...security.encode };
  const replyOpts = { compress, label, ...security.encode };
  const inboundOpts = {
    ...security.decode,
    label,
    lenientLabelCheck: lenient,
    skipInboundLabelCheck,
    labelled: true,
  };
  const replyParseOpts = { ...security.decode, label, labelled: false };
  const adapt = (r: ReturnType<typeof parseStreamFrame>) => {
    if (r.kind === 'frame') return { kind: 'frame' as const, value: r.value };
    if (r.kind === 'error') return { kind: 'error' as const, reason: `${r.code}: ${r.reason}` };
    return r;
  };
  const parseStream = (buffered: Uint8Array) => adapt(parseStreamFrame(buffered, inboundOpts));
  return {
    encodePacket: (messages, crc) => encodePacket(messages, { ...encodePacketOpts, crc }),
    decodePacket(bytes) {
      const r = decodePacket(bytes, decodePacketOpts);
      if (!r.ok) return { ok: false, reason: dropReason(r.code), detail: `${r.code}: ${r.detail}` };
      const dropped = r.errors.map((e) => ({ reason: dropReason(e.code), detail: `${e.code}: ${e.detail}` }));
      return dropped.length > 0
        ? { ok: true, messages: r.messages, dropped }
        : { ok: true, messages: r.messages };
    },
    encodeStream: (frame) => encodeStreamFrame(frame, requestOpts),
    parseStream,
    parseReply: (buffered) => adapt(parseStreamFrame(buffered, replyParseOpts)),
    inboundStream(): InboundStreamCodec {
      if (!lenient)
        return { parse: parseStream, encodeReply: (frame) => encodeStreamFrame(frame, replyOpts) };
      // memberlist seals the reply with the stream's label; under the lenient rule that is the label
      // the request arrived with, which may differ from ours (none, or ours when we have none).
      let streamLabel = label;
      return {
        parse(buffered) {
          const r = parseStreamFrame(buffered, inboundOpts);
          if (r.kind === 'frame') {
            const l = readStreamLabel(buffered);
            const c = l.kind === 'label' ? checkLabel(l.label, l.present, policy) : undefined;
            if (c?.ok) streamLabel = c.label.slice();
          }
          return adapt(r);
        },
        encodeReply: (frame) => encodeStreamFrame(frame, { ...replyOpts, label: streamLabel }),
      };
    },
    sizeOf: (m: Message) => encodedSize(m),
    packetOverhead: security.packetOverhead + labelOverhead(label),
    streamDropReason: (reason) => dropReason(reason.split(':')[0] as StreamErrorCode),
  };
}
