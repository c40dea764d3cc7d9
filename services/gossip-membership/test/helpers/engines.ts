// Small helpers to drive engines by hand in unit tests (no network model).
import type { Address } from '../../src/protocol/address.js';
import { lanConfig, type ProtocolConfig } from '../../src/protocol/config.js';
import { Engine, type OutPacket, type Ready } from '../../src/protocol/engine.js';
import type { Message } from '../../src/protocol/messages.js';
import { createRng } from '../../src/protocol/prng.js';

export const VSN = Uint8Array.of(1, 5, 2, 0, 0, 0);
export const addrOf = (last: number): Address => ({ addr: Uint8Array.of(10, 0, 0, last), port: 7946 });

export function makeEngine(
  name: string,
  last: number,
  config: ProtocolConfig = lanConfig(),
  seed = last,
): Engine {
  return new Engine({ name, address: addrOf(last), config, rng: createRng(seed), now: 0 });
}

/** Teaches `engine` about alive peers (name, last IP byte, optional Vsn) at time `now`. */
export function learn(engine: Engine, peers: [string, number, Uint8Array?][], now = 0): Ready {
  const msgs: Message[] = peers.map(([node, last, vsn]) => ({
    type: 'alive',
    body: { node, incarnation: 1, addr: addrOf(last).addr, port: 7946, meta: null, vsn: vsn ?? VSN },
  }));
  return engine.receive(addrOf(250), msgs, now);
}

/** Ticks `engine` at each deadline until `until` (inclusive), collecting every Ready. */
export function tickUntil(engine: Engine, from: number, until: number): Ready[] {
  const out: Ready[] = [];
  let t = from;
  for (let guard = 0; guard < 100_000; guard++) {
    const r = engine.tick(t);
    out.push(r);
    if (r.nextDeadline > until) break;
    t = Math.max(t, r.nextDeadline);
  }
  return out;
}

export const packets = (rs: Ready[]): OutPacket[] => rs.flatMap((r) => r.packets);
export const first = <T extends Message['type']>(p: OutPacket | undefined, type: T) =>
  p?.messages.find((m) => m.type === type) as Extract<Message, { type: T }> | undefined;
export const lastByte = (a: Address) => a.addr[a.addr.length - 1];
