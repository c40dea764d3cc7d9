// UDP on the gossip port: one dgram socket bound to bindAddr:port, used both to receive and to send,
// so every packet we send has the gossip port as its source port (memberlist net_transport.go; older
// Go nodes answer pings to the packet's source). The receive buffer is raised to 2 MiB like Go's
// (best effort: the kernel may cap it).
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Endpoint, PacketTransport } from './interface.js';

/** Go tries to set SO_RCVBUF to this many bytes. */
const UDP_RECV_BUFFER_BYTES = 2 * 1024 * 1024;
/** Largest datagram memberlist reads (udpPacketBufSize), bytes. */
const UDP_MAX_PACKET_BYTES = 65_536;

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export const unmapIp = (ip: string): string =>
  ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;

export async function bindUdp(bindAddr: string, port: number): Promise<PacketTransport> {
  const family = isIP(bindAddr) === 6 ? 'udp6' : 'udp4';
  const socket: Socket = createSocket({ type: family, reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: bindAddr, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(UDP_RECV_BUFFER_BYTES);
  } catch {
    // the kernel's limit applies
  }
  const addr = socket.address();
  const local: Endpoint = { ip: unmapIp(addr.address), port: addr.port };
  let onPacket: (data: Uint8Array, from: Endpoint) => void = () => {};
  let onSendError: (err: Error, to: Endpoint) => void = () => {};
  let closed = false;
  socket.on('message', (msg, rinfo) => {
    if (msg.length > UDP_MAX_PACKET_BYTES) return;
    onPacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), {
      ip: unmapIp(rinfo.address),
      port: rinfo.port,
    });
  });
  // After bind, socket errors are per-send (ICMP unreachable etc.); never fatal.
  socket.on('error', () => {});
  return {
    local,
    send(to, data) {
      if (closed) return;
      const host = family === 'udp6' && isIP(to.ip) === 4 ? `::ffff:${to.ip}` : to.ip;
      try {
        socket.send(data, to.port, host, (err) => {
          if (err) onSendError(err, to);
        });
      } catch (err) {
        // Argument errors (port 0, bad address) are thrown synchronously.
        onSendError(err as Error, to);
      }
    },
    onPacket(h) {
      onPacket = h;
    },
    onSendError(h) {
      onSendError = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}
