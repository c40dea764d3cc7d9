// Binds UDP and TCP on the same gossip port (memberlist NetTransport). With port 0 the UDP socket picks
// a free port and TCP takes the same number; if that number is taken for TCP, both are retried
// (Go: up to 10 times) so the port we advertise works for both.
import type { PacketTransport, StreamTransport } from './interface.js';
import { listenTcp } from './tcp.js';
import { bindUdp } from './udp.js';

export interface GossipPort {
  udp: PacketTransport;
  tcp: StreamTransport;
  port: number;
  close(): Promise<void>;
}

export async function bindGossipPort(bindAddr: string, port: number): Promise<GossipPort> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === 0 ? 10 : 1); attempt++) {
    const udp = await bindUdp(bindAddr, port);
    try {
      const tcp = await listenTcp(bindAddr, udp.local.port);
      return {
        udp,
        tcp,
        port: udp.local.port,
        close: async () => {
          await Promise.all([udp.close(), tcp.close()]);
        },
      };
    } catch (e) {
      lastError = e;
      await udp.close();
    }
  }
  throw lastError;
}
