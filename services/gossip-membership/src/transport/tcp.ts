// TCP on the gossip port: inbound streams (push/pull, fallback pings, user messages) and dialled
// streams to peers (memberlist net_transport.go / net.go). Each stream carries one request and at most
// one reply. memberlist frames have no overall length (unless encrypted) and Go does not half-close
// after writing, so frames are recognised incrementally: after every chunk the caller's FrameParser
// looks at everything buffered and says "more", "frame" or "error"; we never wait for EOF.
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import {
  type Endpoint,
  type FrameParser,
  type Stream,
  StreamError,
  type StreamTransport,
} from './interface.js';
import { unmapIp } from './udp.js';

/** memberlist accepts at most this many concurrent inbound push/pulls; further ones are dropped. */
export const MAX_INBOUND_STREAMS = 127;
/** Largest frame we buffer: memberlist's 20 MiB stream limit plus room for headers, bytes. */
const MAX_STREAM_FRAME_BYTES = 20 * 1024 * 1024 + 64 * 1024;

class SocketStream implements Stream {
  readonly remote: Endpoint;
  bytesIn = 0;
  bytesOut = 0;
  #buf = new Uint8Array(4096);
  #len = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(readonly socket: Socket) {
    this.remote = { ip: unmapIp(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      if (this.#len + chunk.length > MAX_STREAM_FRAME_BYTES) {
        this.#error = new StreamError('TOO_LARGE', `stream frame over ${MAX_STREAM_FRAME_BYTES} bytes`);
        socket.destroy();
      } else {
        if (this.#len + chunk.length > this.#buf.length) {
          const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + chunk.length));
          grown.set(this.#buf.subarray(0, this.#len));
          this.#buf = grown;
        }
        this.#buf.set(chunk, this.#len);
        this.#len += chunk.length;
      }
      this.#wake?.();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', (err) => {
      this.#error ??= new StreamError('IO', err.message);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  readFrame<T>(parse: FrameParser<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new StreamError('TIMEOUT', `no whole frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (err: Error | undefined, value?: T) => {
        clearTimeout(timer);
        this.#wake = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      const check = () => {
        if (this.#len > 0) {
          let r: ReturnType<FrameParser<T>>;
          try {
            r = parse(this.#buf.subarray(0, this.#len));
          } catch (e) {
            r = { kind: 'error', reason: (e as Error).message };
          }
          if (r.kind === 'frame') return finish(undefined, r.value);
          if (r.kind === 'error') return finish(new StreamError('PARSE', r.reason));
        }
        if (this.#error) return finish(this.#error);
        if (this.#ended)
          return finish(
            new StreamError('CLOSED', `stream closed after ${this.#len} bytes, frame incomplete`),
          );
      };
      this.#wake = check;
      check();
    });
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new StreamError('CLOSED', 'stream already closed'));
      this.bytesOut += data.length;
      this.socket.write(data, (err) => (err ? reject(new StreamError('IO', err.message)) : resolve()));
    });
  }

  close(): void {
    // end() flushes what was written; destroy soon after in case the peer never reads.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

export async function listenTcp(bindAddr: string, port: number): Promise<StreamTransport> {
  const server: Server = createServer({ noDelay: true });
  let handler: (s: Stream) => void = (s) => s.close();
  let open = 0;
  let refused = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    if (open >= MAX_INBOUND_STREAMS) {
      refused++;
      socket.destroy();
      return;
    }
    open++;
    sockets.add(socket);
    socket.once('close', () => {
      open--;
      sockets.delete(socket);
    });
    handler(new SocketStream(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: bindAddr, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('tcp listener has no address');
  const local: Endpoint = { ip: unmapIp(addr.address), port: addr.port };
  return {
    local,
    get refused() {
      return refused;
    },
    dial: (to, timeoutMs) =>
      dialTcp(to, timeoutMs, isIP(bindAddr) === 4 && bindAddr !== '0.0.0.0' ? bindAddr : undefined),
    onStream(h) {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Dials a stream. With a specific IPv4 bind address the connection leaves from it (an ephemeral
 * port), so a node bound to 127.0.0.x talks from 127.0.0.x; the peer never uses that address.
 */
export function dialTcp(to: Endpoint, timeoutMs: number, localAddress?: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: to.ip,
      port: to.port,
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StreamError('TIMEOUT', `connect to ${to.ip}:${to.port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(new SocketStream(socket));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new StreamError('CONNECT', `connect to ${to.ip}:${to.port}: ${err.message}`));
    });
  });
}
