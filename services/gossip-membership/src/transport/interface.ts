// The transport the runtime driver speaks memberlist over (memberlist `transport.go`): datagrams
// and one-request streams on ONE gossip port. Peers are named by IP text and port; converting to
// and from the 4/16-byte wire form is the driver's (protocol/address.ts).

export interface Endpoint {
  /** IP text: dotted quad for IPv4 (never the ::ffff: mapped form), or IPv6. */
  ip: string;
  port: number;
}

/** UDP: packets are sent FROM the socket bound to the gossip port (Go ≤ 0.1 answers the source). */
export interface PacketTransport {
  /** The bound address and port. */
  readonly local: Endpoint;
  /** Fire and forget; a send error is reported through onSendError, never thrown. */
  send(to: Endpoint, data: Uint8Array): void;
  onPacket(handler: (data: Uint8Array, from: Endpoint) => void): void;
  onSendError(handler: (err: Error, to: Endpoint) => void): void;
  close(): Promise<void>;
}

/**
 * Incremental frame parser for a stream: called with everything received so far (after each chunk),
 * it says whether a whole frame is there. memberlist streams carry no overall length and the peer
 * does not half-close, so a reader must recognise the end of a frame itself and never wait for EOF.
 */
export type FrameParser<T> = (buffered: Uint8Array) => FrameResult<T>;
type FrameResult<T> = { kind: 'more' } | { kind: 'frame'; value: T } | { kind: 'error'; reason: string };

export class StreamError extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'CLOSED' | 'PARSE' | 'TOO_LARGE' | 'CONNECT' | 'IO',
    message: string,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

/** One TCP exchange: at most one request and one reply, then close (memberlist net.go). */
export interface Stream {
  readonly remote: Endpoint;
  /** Resolves with the first whole frame; rejects with StreamError on timeout, EOF, parse error or size. */
  readFrame<T>(parse: FrameParser<T>, deadlineMs: number): Promise<T>;
  write(data: Uint8Array): Promise<void>;
  /** Bytes read and written so far (for metrics). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  close(): void;
}

export interface StreamTransport {
  readonly local: Endpoint;
  /** Opens a stream to `to`; rejects with StreamError('CONNECT' | 'TIMEOUT') within `timeoutMs`. */
  dial(to: Endpoint, timeoutMs: number): Promise<Stream>;
  /** Inbound streams; the handler owns the stream and must close it. */
  onStream(handler: (stream: Stream) => void): void;
  /** Inbound connections refused because too many were already open (memberlist: 127). */
  readonly refused: number;
  close(): Promise<void>;
}
