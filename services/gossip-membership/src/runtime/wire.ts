// What the driver needs from the codec: bytes ↔ protocol messages for UDP packets and TCP stream
// frames. The memberlist implementation (wire-memberlist.ts) adapts wire/packet.ts and friends;
// tests may plug in a simpler one.
import type { DropReason } from '../metrics.js';
import type { Message } from '../protocol/messages.js';
import type { FrameParser } from '../transport/interface.js';
import type { StreamFrame } from '../wire/stream.js';

/** One whole frame of a TCP stream, after label/decryption/decompression (defined by the codec). */
export type { StreamFrame } from '../wire/stream.js';

type DecodedPacket =
  | {
      ok: true;
      messages: Message[];
      /** Parts of a compound that were dropped while the rest was delivered (as Go does). */
      dropped?: { reason: DropReason; detail: string }[];
    }
  | { ok: false; reason: DropReason; detail: string };

/** The codec of ONE inbound stream: parses its request, then encodes the reply in the same context. */
export interface InboundStreamCodec {
  parse: FrameParser<StreamFrame>;
  /** The reply (never label-prefixed; its encryption AD is the label the request came with). */
  encodeReply(frame: StreamFrame): Uint8Array;
}

export interface WireCodec {
  /** Encodes one outgoing UDP send: compound when several messages (several packets past 255 parts). */
  encodePacket(messages: readonly Message[], crc: boolean): Uint8Array[];
  /** Decodes a received datagram (label, CRC, compression and compounds unwrapped). */
  decodePacket(bytes: Uint8Array): DecodedPacket;
  /** A request on a stream we dial (label-prefixed when a label is configured). */
  encodeStream(frame: StreamFrame): Uint8Array;
  /** Incremental stream parser: recognises a whole frame without EOF. */
  parseStream: FrameParser<StreamFrame>;
  /** Parser of the reply on a stream we dialled (no label header there); parseStream when absent. */
  parseReply?: FrameParser<StreamFrame>;
  /** Per inbound stream parser and reply encoder; {parseStream, encodeStream} when absent. */
  inboundStream?(): InboundStreamCodec;
  /** Exact encoded size of a message (the engine's piggyback budget); an estimate when absent. */
  sizeOf?: (message: Message) => number;
  /** Bytes every UDP packet loses to label and encryption (the engine's budget), default 0. */
  packetOverhead?: number;
  /** The drop reason of a stream parse failure (its `reason` text); 'decode' when absent. */
  streamDropReason?: (reason: string) => DropReason;
}
