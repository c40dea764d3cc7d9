// UDP and TCP on one gossip port, on loopback: packets leave from the gossip port, streams are framed
// incrementally (a whole frame is recognised without EOF), and every failure is a typed StreamError.
import { connect, type Socket } from 'node:net';
import { eventually } from '@edgefleet/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { bindGossipPort, type GossipPort } from '../src/transport/gossip-port.js';
import { type Endpoint, type FrameParser, type Stream, StreamError } from '../src/transport/interface.js';
import { dialTcp, MAX_INBOUND_STREAMS } from '../src/transport/tcp.js';
import { bindUdp, unmapIp } from '../src/transport/udp.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
async function port(addr = '127.0.0.1'): Promise<GossipPort> {
  const p = await bindGossipPort(addr, 0);
  closers.push(() => p.close());
  return p;
}

/** Test framing: 1 length byte, then that many bytes. */
const lengthPrefixed: FrameParser<string> = (buf) => {
  const n = buf[0] as number;
  if (n === 0xff) return { kind: 'error', reason: 'bad length byte' };
  if (buf.length < 1 + n) return { kind: 'more' };
  return { kind: 'frame', value: Buffer.from(buf.subarray(1, 1 + n)).toString() };
};
const frame = (s: string) => Uint8Array.from([s.length, ...Buffer.from(s)]);

function rawConnect(to: Endpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: to.ip, port: to.port }, () => resolve(s));
    s.once('error', reject);
    closers.push(() => void s.destroy());
  });
}
function nextStream(p: GossipPort): Promise<Stream> {
  return new Promise((resolve) =>
    p.tcp.onStream((s) => {
      closers.push(() => s.close());
      resolve(s);
    }),
  );
}

describe('gossip port', () => {
  it('binds UDP and TCP on the same free port', async () => {
    const p = await port();
    expect(p.port).toBeGreaterThan(0);
    expect(p.udp.local).toEqual({ ip: '127.0.0.1', port: p.port });
    expect(p.tcp.local).toEqual({ ip: '127.0.0.1', port: p.port });
  });

  it('fails clearly when the port is taken', async () => {
    const p = await port();
    await expect(bindGossipPort('127.0.0.1', p.port)).rejects.toThrow(/EADDRINUSE/);
  });

  it('binds a 127.0.0.x address distinct from 127.0.0.1', async () => {
    const p = await port('127.0.0.7');
    expect(p.udp.local.ip).toBe('127.0.0.7');
  });
});

describe('udp', () => {
  it('sends from the gossip port, so the peer sees it as the source', async () => {
    const a = await port('127.0.0.2');
    const b = await port('127.0.0.3');
    const got: { data: string; from: Endpoint }[] = [];
    b.udp.onPacket((data, from) => got.push({ data: Buffer.from(data).toString(), from }));
    a.udp.send({ ip: '127.0.0.3', port: b.port }, Buffer.from('hello'));
    await eventually(() => got.length === 1, { timeoutMs: 2000 });
    expect(got[0]).toEqual({ data: 'hello', from: { ip: '127.0.0.2', port: a.port } });
  });

  it('carries a 64 KiB datagram intact', async () => {
    const a = await port();
    const b = await port();
    const big = new Uint8Array(60_000).map((_, i) => i & 0xff);
    let got: Uint8Array | undefined;
    b.udp.onPacket((d) => {
      got = Uint8Array.from(d);
    });
    a.udp.send(b.udp.local, big);
    await eventually(() => got, { timeoutMs: 2000 });
    expect(got).toEqual(big);
  });

  it('reports a send error instead of throwing', async () => {
    const a = await bindUdp('127.0.0.1', 0);
    closers.push(() => a.close());
    const errors: Error[] = [];
    a.onSendError((e) => errors.push(e));
    a.send({ ip: '127.0.0.1', port: 0 }, Buffer.from('x'));
    await eventually(() => errors.length === 1, { timeoutMs: 2000 });
  });

  it('ignores sends after close', async () => {
    const a = await bindUdp('127.0.0.1', 0);
    await a.close();
    expect(() => a.send({ ip: '127.0.0.1', port: 9 }, Buffer.from('x'))).not.toThrow();
    await a.close();
  });

  it('unmaps ::ffff: addresses', () => {
    expect(unmapIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmapIp('::1')).toBe('::1');
    expect(unmapIp('::ffff:zz')).toBe('::ffff:zz');
  });
});

describe('tcp streams', () => {
  it('recognises a frame written in pieces without waiting for EOF, and replies on the same stream', async () => {
    const server = await port();
    const inbound = nextStream(server);
    const raw = await rawConnect(server.tcp.local);
    const s = await inbound;
    const read = s.readFrame(lengthPrefixed, 2000);
    raw.write(Uint8Array.of(5));
    raw.write(Buffer.from('he'));
    await new Promise((r) => setImmediate(r));
    raw.write(Buffer.from('llo-and-trailing'));
    await expect(read).resolves.toBe('hello');
    expect(raw.writableEnded).toBe(false); // the client never half-closed
    const reply = new Promise<string>((resolve) => raw.once('data', (d) => resolve(d.toString())));
    await s.write(Buffer.from('ok'));
    expect(await reply).toBe('ok');
    expect(s.bytesIn).toBe(1 + 2 + 16);
    expect(s.bytesOut).toBe(2);
  });

  it('dials, writes a request, reads the reply', async () => {
    const server = await port();
    server.tcp.onStream(async (s) => {
      const req = await s.readFrame(lengthPrefixed, 2000);
      await s.write(frame(`re:${req}`));
      s.close();
    });
    const client = await port('127.0.0.4');
    const s = await client.tcp.dial(server.tcp.local, 1000);
    closers.push(() => s.close());
    await s.write(frame('ping'));
    await expect(s.readFrame(lengthPrefixed, 2000)).resolves.toBe('re:ping');
  });

  it('rejects with CLOSED when the peer ends mid-frame', async () => {
    const server = await port();
    const inbound = nextStream(server);
    const raw = await rawConnect(server.tcp.local);
    const s = await inbound;
    raw.end(Uint8Array.of(9, 1, 2));
    await expect(s.readFrame(lengthPrefixed, 2000)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects with TIMEOUT when the frame never completes', async () => {
    const server = await port();
    const inbound = nextStream(server);
    const raw = await rawConnect(server.tcp.local);
    const s = await inbound;
    raw.write(Uint8Array.of(9, 1));
    await expect(s.readFrame(lengthPrefixed, 150)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('rejects with PARSE on a frame the parser refuses (and on a parser that throws)', async () => {
    const server = await port();
    const inbound = nextStream(server);
    const raw = await rawConnect(server.tcp.local);
    const s = await inbound;
    raw.write(Uint8Array.of(0xff));
    await expect(s.readFrame(lengthPrefixed, 2000)).rejects.toMatchObject({
      code: 'PARSE',
      message: 'bad length byte',
    });
    await expect(
      s.readFrame(() => {
        throw new Error('boom');
      }, 2000),
    ).rejects.toMatchObject({ code: 'PARSE', message: 'boom' });
  });

  it('rejects with TOO_LARGE past the 20 MiB stream limit', async () => {
    const server = await port();
    const inbound = nextStream(server);
    const raw = await rawConnect(server.tcp.local);
    const s = await inbound;
    const read = s.readFrame<never>(() => ({ kind: 'more' }), 10_000);
    raw.on('error', () => {});
    raw.write(new Uint8Array(21 * 1024 * 1024));
    await expect(read).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('rejects a dial to a closed port with CONNECT', async () => {
    const p = await port();
    const closedPort = p.port;
    await p.close();
    const err = await dialTcp({ ip: '127.0.0.1', port: closedPort }, 1000).catch((e) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect(err.code).toBe('CONNECT');
  });

  it('refuses inbound streams beyond 127 open at once', async () => {
    const server = await port();
    const held: Stream[] = [];
    server.tcp.onStream((s) => held.push(s));
    closers.push(() => {
      for (const s of held) s.close();
    });
    for (let i = 0; i < MAX_INBOUND_STREAMS; i++) await rawConnect(server.tcp.local);
    await eventually(() => held.length === MAX_INBOUND_STREAMS, { timeoutMs: 5000 });
    const extra = await rawConnect(server.tcp.local);
    const closed = new Promise((r) => extra.once('close', r));
    await closed;
    expect(server.tcp.refused).toBe(1);
    expect(held.length).toBe(MAX_INBOUND_STREAMS);
  });
});
