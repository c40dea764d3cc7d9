// What the driver needs from the codec: bytes ↔ protocol messages for UDP packets and TCP stream
// frames. The memberlist implementation (wire-memberlist.ts) adapts protocol/packet.ts and friends;
// tests may plug in a simpler one.
import type { DropReason } from '../metrics.js';
import type { Message } from '../protocol/messages.js';
import type { StreamFrame } from '../protocol/stream.js';
import type { FrameParser } from '../transport/interface.js';

/** One whole frame of a TCP stream, after label/decryption/decompression (defined by the codec). */
export type { StreamFrame } from '../protocol/stream.js';

export type DecodedPacket =
  | {
      ok: true;
      messages: Message[];
      /** Parts of a compound that were dropped while the rest was delivered (as Go does). */
      dropped?: { reason: DropReason; detail: string }[];
    }
  | { ok: false; reason: DropReason; detail: string };

export interface WireCodec {
  /** Encodes one outgoing UDP send: compound when several messages (several packets past 255 parts). */
  encodePacket(messages: readonly Message[], crc: boolean): Uint8Array[];
  /** Decodes a received datagram (label, CRC, compression and compounds unwrapped). */
  decodePacket(bytes: Uint8Array): DecodedPacket;
  encodeStream(frame: StreamFrame): Uint8Array;
  /** Incremental stream parser: recognises a whole frame without EOF. */
  parseStream: FrameParser<StreamFrame>;
  /** Exact encoded size of a message (the engine's piggyback budget); an estimate when absent. */
  sizeOf?: (message: Message) => number;
  /** Bytes every UDP packet loses to label and encryption (the engine's budget), default 0. */
  packetOverhead?: number;
  /** The drop reason of a stream parse failure (its `reason` text); 'decode' when absent. */
  streamDropReason?: (reason: string) => DropReason;
}
