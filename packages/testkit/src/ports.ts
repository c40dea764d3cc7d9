// Free ports for test servers. Ports are chosen below 32768: outgoing connections take ephemeral ports
// in 32768–60999, and a listener there can collide with them. A candidate is checked by binding it.
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port in [20000, 32000) that is free on `host` right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canBind(port, host)) return port;
  }
  throw new Error('no free port found in 200 tries');
}
