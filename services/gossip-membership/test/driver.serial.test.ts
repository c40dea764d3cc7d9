// The runtime driver between TypeScript nodes on loopback (Local profile timings), with a simple JSON
// codec so only the driver's wiring is under test: join over TCP, failure detection over UDP, leave,
// and hostile datagrams that must be dropped and counted.
import { createSocket } from 'node:dgram';
import { silentLogger } from '@edgefleet/service-kit';
import { eventually, freePort } from '@edgefleet/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGossipMetrics } from '../src/metrics.js';
import { localConfig } from '../src/protocol/config.js';
import { Driver } from '../src/runtime/driver.js';
import { jsonCodec } from './helpers/json-codec.js';

const drivers: Driver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

async function node(name: string, ip: string, registry?: Registry): Promise<Driver> {
  let metrics: ReturnType<typeof createGossipMetrics> | undefined;
  let d: Driver | undefined;
  if (registry) metrics = createGossipMetrics(registry, () => d);
  d = await Driver.start({
    name,
    bindAddr: ip,
    bindPort: await freePort(ip),
    config: localConfig(),
    codec: jsonCodec,
    logger: silentLogger(),
    ...(metrics ? { metrics } : {}),
  });
  drivers.push(d);
  return d;
}
const stateOf = (d: Driver, name: string) => d.members().find((m) => m.name === name)?.state;

describe('driver (TypeScript nodes)', () => {
  it('joins, detects a closed node as dead, and shows a leaver as left', async () => {
    const a = await node('ts-a', '127.0.0.21');
    const b = await node('ts-b', '127.0.0.22');
    const c = await node('ts-c', '127.0.0.23');
    let changes = 0;
    const off = a.on(() => changes++);
    expect(await b.join([{ host: '127.0.0.21', port: a.port.port }])).toBe(1);
    await eventually(() => changes > 0, { timeoutMs: 3000, what: 'a member change notification' });
    off();
    expect(await c.join([{ host: '127.0.0.21', port: a.port.port }])).toBe(1);
    await eventually(
      () => [a, b, c].every((d) => d.members().filter((m) => m.state === 'alive').length === 3),
      {
        timeoutMs: 5000,
        what: 'all alive everywhere',
      },
    );
    expect(a.self()).toMatchObject({ name: 'ts-a', ip: '127.0.0.21', port: a.port.port, state: 'alive' });

    await c.close(); // no leave: must be detected
    await eventually(() => stateOf(a, 'ts-c') === 'dead' && stateOf(b, 'ts-c') === 'dead', {
      timeoutMs: 12_000,
      what: 'ts-c dead on a and b',
    });

    // The leave is gossiped over UDP (retransmitted a few times), so allow for a loaded machine.
    await b.leave(3000);
    await eventually(() => stateOf(a, 'ts-b') === 'left', { timeoutMs: 10_000, what: 'ts-b left on a' });
  });

  it('a join through an unreachable seed reports 0', async () => {
    const a = await node('ts-solo', '127.0.0.24');
    expect(await a.join([{ host: '127.0.0.24', port: await freePort('127.0.0.24') }])).toBe(0);
    expect(await a.join([{ host: 'no-such-host.invalid', port: 1 }])).toBe(0);
  });

  it('retries a join until the seed is up, and stops retrying on close', async () => {
    const seedPort = await freePort('127.0.0.27');
    const b = await node('ts-late-joiner', '127.0.0.28');
    let failures = 0;
    const joined = b.joinWithRetry([{ host: '127.0.0.27', port: seedPort }], 100, () => failures++);
    await eventually(() => failures >= 2, { timeoutMs: 3000 });
    const seed = await Driver.start({
      name: 'ts-late-seed',
      bindAddr: '127.0.0.27',
      bindPort: seedPort,
      config: localConfig(),
      codec: jsonCodec,
      logger: silentLogger(),
    });
    drivers.push(seed);
    expect(await joined).toBe(1);
    const c = await node('ts-never', '127.0.0.29');
    const never = c.joinWithRetry([{ host: '127.0.0.29', port: await freePort('127.0.0.29') }], 50);
    await c.close();
    expect(await never).toBe(0);
  });

  it('advertises an address distinct from the bind address (bound on 0.0.0.0)', async () => {
    const port = await freePort('0.0.0.0');
    const a = await Driver.start({
      name: 'ts-wild',
      bindAddr: '0.0.0.0',
      bindPort: port,
      advertiseAddr: '127.0.0.33',
      config: localConfig(),
      codec: jsonCodec,
      logger: silentLogger(),
    });
    drivers.push(a);
    expect(a.self()).toMatchObject({ ip: '127.0.0.33', port });
    const b = await node('ts-adv-peer', '127.0.0.34');
    expect(await b.join([{ host: '127.0.0.33', port }])).toBe(1);
    await eventually(() => stateOf(a, 'ts-adv-peer') === 'alive' && stateOf(b, 'ts-wild') === 'alive', {
      timeoutMs: 5000,
    });
    expect(b.members().find((m) => m.name === 'ts-wild')).toMatchObject({ ip: '127.0.0.33', port });
    await expect(
      Driver.start({
        name: 'x',
        bindAddr: '0.0.0.0',
        bindPort: 0,
        config: localConfig(),
        codec: jsonCodec,
        logger: silentLogger(),
      }),
    ).rejects.toThrow(/advertise address is required/);
  });

  it('reaches a node whose alive carries its IPv4 address in the 16-byte form', async () => {
    const a = await node('ts-16', '127.0.0.35');
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.36', () => r()));
    const got: unknown[] = [];
    peer.on('message', (msg) => got.push(JSON.parse(msg.toString())));
    const mapped = Buffer.from('00000000000000000000ffff7f000024', 'hex');
    const alive = {
      m: [
        {
          type: 'alive',
          body: {
            incarnation: 1,
            node: 'raw-16',
            addr: { $b: mapped.toString('base64') },
            port: peer.address().port,
            meta: null,
            vsn: { $b: Buffer.from([1, 5, 2, 0, 0, 0]).toString('base64') },
          },
        },
      ],
    };
    peer.send(Buffer.from(JSON.stringify(alive)), a.port.port, '127.0.0.35');
    await eventually(() => stateOf(a, 'raw-16') === 'alive', { timeoutMs: 3000 });
    expect(a.members().find((m) => m.name === 'raw-16')?.ip).toBe('127.0.0.36');
    // Our probes (pings) reach it at the IPv4 address.
    await eventually(
      () =>
        got.some((p) => JSON.stringify(p).includes('"type":"ping"') && JSON.stringify(p).includes('raw-16')),
      { timeoutMs: 5000, what: 'a ping for raw-16' },
    );
    peer.close();
  });

  it('drops and counts hostile datagrams without changing membership', async () => {
    const registry = new Registry();
    const a = await node('ts-x', '127.0.0.25', registry);
    const b = await node('ts-y', '127.0.0.26');
    await b.join([{ host: '127.0.0.25', port: a.port.port }]);
    await eventually(() => stateOf(a, 'ts-y') === 'alive', { timeoutMs: 5000 });
    const sock = createSocket('udp4');
    const payloads = [
      Buffer.from('garbage'),
      Buffer.alloc(0),
      Buffer.from('{"m":'),
      Buffer.from([0xff, 0, 1]),
    ];
    for (const p of payloads) sock.send(p, a.port.port, '127.0.0.25');
    await eventually(
      async () => {
        const text = await registry.metrics();
        const m = /gossip_dropped_packets_total\{reason="decode"\} (\d+)/.exec(text);
        return m && Number(m[1]) >= payloads.length;
      },
      { timeoutMs: 3000, what: 'drops counted' },
    );
    sock.close();
    expect(a.members().map((m) => [m.name, m.state])).toEqual([
      ['ts-x', 'alive'],
      ['ts-y', 'alive'],
    ]);
  });
});
