// The driver's inbound handoff (protocol/inbound-queue.ts) on real UDP sockets with the memberlist
// codec: a flood of suspicions about a node, sent before that node's refutation (an alive with a
// higher incarnation), must not make it suspect — the alive is handled first — and what overflows
// the 1024-message queue is dropped and counted.
import { createSocket } from 'node:dgram';
import { silentLogger } from '@edgefleet/service-kit';
import { eventually, freePort } from '@edgefleet/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGossipMetrics } from '../src/metrics.js';
import { localConfig } from '../src/protocol/config.js';
import type { MemberEvent } from '../src/protocol/members.js';
import type { Message } from '../src/protocol/messages.js';
import { Driver } from '../src/runtime/driver.js';
import { createMemberlistCodec } from '../src/runtime/wire-memberlist.js';
import { encodePacket } from '../src/wire/packet.js';

const drivers: Driver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

async function node(name: string, ip: string, registry?: Registry, events?: MemberEvent[]): Promise<Driver> {
  const config = localConfig();
  let d: Driver | undefined;
  const metrics = registry ? createGossipMetrics(registry, () => d) : undefined;
  d = await Driver.start({
    name,
    bindAddr: ip,
    bindPort: await freePort(ip),
    config,
    codec: createMemberlistCodec(config),
    logger: silentLogger(),
    ...(metrics ? { metrics } : {}),
    ...(events
      ? {
          delegate: {
            localState: () => new Uint8Array(0),
            mergeRemoteState: () => {},
            notify: (e: readonly MemberEvent[]) => events.push(...e),
          },
        }
      : {}),
  });
  drivers.push(d);
  return d;
}

const FLOOD = 2000;
const QUEUE_DEPTH = 1024;

describe('driver: inbound handoff under a flood', () => {
  it('handles the refuting alive before a flood of suspicions sent ahead of it, and counts the overflow', async () => {
    const registry = new Registry();
    const events: MemberEvent[] = [];
    const a = await node('flood-a', '127.0.0.61', registry, events);
    const b = await node('flood-b', '127.0.0.62');
    expect(await b.join([{ host: '127.0.0.61', port: a.port.port }])).toBe(1);
    await eventually(() => a.members().some((m) => m.name === 'flood-b' && m.state === 'alive'), {
      timeoutMs: 5000,
      what: 'flood-b alive on flood-a',
    });
    const seen = a.engine.node('flood-b');
    if (!seen) throw new Error('flood-b unknown to flood-a');
    const inc = seen.incarnation;
    events.length = 0;

    // Suspicions about flood-b at its current incarnation from many accusers, then flood-b's
    // refutation at inc + 1: in compounds of 127 (memberlist 0.2.2's safe size), all written to
    // the socket in one go so the driver reads them in one poll phase.
    const flood: Message[] = [];
    for (let i = 0; i < FLOOD; i++)
      flood.push({ type: 'suspect', body: { node: 'flood-b', incarnation: inc, from: `accuser-${i}` } });
    const packets = encodePacket(flood, { compress: true });
    const refutation = encodePacket([
      {
        type: 'alive',
        body: {
          node: 'flood-b',
          incarnation: inc + 1,
          addr: seen.addr,
          port: seen.port,
          meta: seen.meta,
          vsn: seen.vsn,
        },
      },
    ]);
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.63', r));
    try {
      await new Promise<void>((resolve, reject) => {
        const all = [...packets, ...refutation];
        let left = all.length;
        for (const p of all)
          sock.send(p, a.port.port, '127.0.0.61', (err) => {
            if (err) reject(err);
            else if (--left === 0) resolve();
          });
      });
    } finally {
      sock.close();
    }

    await eventually(() => a.engine.node('flood-b')?.incarnation === inc + 1, {
      timeoutMs: 5000,
      what: 'the refutation applied on flood-a',
    });
    const dropped = async () => {
      const text = await registry.metrics();
      return Number(/gossip_dropped_packets_total\{reason="queue_full"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    // The alive went first: every suspicion named an older incarnation and was stale.
    expect(a.engine.node('flood-b')?.state).toBe('alive');
    expect(events.filter((e) => e.kind === 'suspect' && e.node.name === 'flood-b')).toEqual([]);
    // Whatever arrived while the queue already held 1024 was dropped and counted.
    expect(packets.length).toBeLessThanOrEqual(32); // one poll phase reads up to 32 datagrams (libuv)
    expect(await dropped()).toBe(FLOOD - QUEUE_DEPTH);
  });
});
