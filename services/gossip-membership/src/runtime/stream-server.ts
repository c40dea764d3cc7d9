// The gossip port's inbound TCP side (memberlist net.go handleConn): each accepted stream carries
// one request, parsed incrementally (never waiting for EOF, within the profile's tcpTimeoutMs) and
// answered on the same stream:
//   push/pull → our state (then the peer's is merged), ping → ack (or close on a wrong node name),
//   user → accepted and ignored (no user delegate), anything else → errResp.
// A frame that does not parse is dropped and answered with errResp, except one with an unacceptable
// label, which memberlist closes without a word. The stream is closed after the one exchange.
import type { Logger } from 'pino';
import type { DropReason } from '../metrics.js';
import { ipBytes } from '../protocol/address.js';
import type { Engine, Ready } from '../protocol/engine.js';
import type { Endpoint, Stream } from '../transport/interface.js';
import type { StreamFrame, WireCodec } from './wire.js';

/** What the server needs from the driver that owns the engine and the sockets. */
export interface StreamServerContext {
  codec: WireCodec;
  engine: Engine;
  /** Monotonic clock, ms (the engine's). */
  now: () => number;
  /** The driver has closed: nothing more reaches the engine. */
  closed: () => boolean;
  drop: (reason: DropReason, detail: string, from: Endpoint) => void;
  /** Carries out the engine's outputs. */
  apply: (ready: Ready) => void;
  /** Counts one inbound message of that type. */
  countIn: (type: StreamFrame['type']) => void;
  /** Counts the stream's bytes once it is done. */
  countStream: (s: Stream) => void;
  logger: Logger;
}

/** Returns the handler of one accepted stream; it resolves once the stream is answered and closed. */
export function inboundStreamServer(ctx: StreamServerContext): (s: Stream) => Promise<void> {
  const { codec, engine } = ctx;
  return async (s) => {
    const inbound = codec.inboundStream?.() ?? {
      parse: codec.parseStream,
      encodeReply: (frame: StreamFrame) => codec.encodeStream(frame),
    };
    try {
      let f: StreamFrame;
      try {
        f = await s.readFrame(inbound.parse, engine.config.tcpTimeoutMs);
      } catch (err) {
        const e = err as Error & { code?: string };
        const reason =
          e.code === 'TOO_LARGE'
            ? 'too_large'
            : e.code === 'PARSE'
              ? (codec.streamDropReason?.(e.message) ?? 'decode')
              : 'stream';
        ctx.drop(reason, e.message, s.remote);
        // memberlist closes a stream with an unacceptable label without a word.
        if ((e.code === 'PARSE' && reason !== 'label') || e.code === 'TOO_LARGE')
          await s.write(inbound.encodeReply({ type: 'err', value: { error: e.message } })).catch(() => {});
        return;
      }
      ctx.countIn(f.type);
      if (ctx.closed()) return;
      switch (f.type) {
        case 'pushPull': {
          const { reply, ready, error } = engine.handlePushPull(
            { addr: ipBytes(s.remote.ip), port: s.remote.port },
            f.value,
            ctx.now(),
          );
          await s.write(inbound.encodeReply({ type: 'pushPull', value: reply })).catch(() => {});
          if (error) ctx.logger.warn({ from: s.remote, error }, 'push/pull merge refused');
          ctx.apply(ready);
          return;
        }
        case 'ping': {
          const ack = engine.handleStreamPing(f.value);
          if (ack) await s.write(inbound.encodeReply({ type: 'ackResp', value: ack })).catch(() => {});
          return;
        }
        case 'user':
          return; // no user delegate: accepted and ignored, as memberlist without a Delegate
        default:
          ctx.drop('decode', `unexpected stream frame ${f.type}`, s.remote);
          await s
            .write(
              inbound.encodeReply({ type: 'err', value: { error: `unexpected message type ${f.type}` } }),
            )
            .catch(() => {});
      }
    } finally {
      ctx.countStream(s);
      s.close();
    }
  };
}
