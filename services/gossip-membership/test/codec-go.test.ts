// Whole frames as a Go memberlist 0.2.2 node builds them (fixtures/memberlist-go.json, produced by
// memberlist's own encode / sendLocalState encoder / makeCompoundMessage / compressPayload / CRC):
// the TS side must decode them to these values AND re-encode the values to the same bytes.
// test/fixture-gen/gen.sh regenerates the file (docs/wire.md §18).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Message, PushPull } from '../src/protocol/messages.js';
import { encodeMessage } from '../src/wire/codec.js';
import { makeCompoundMessage } from '../src/wire/compound.js';
import { compressMessage } from '../src/wire/compress.js';
import { addCrc } from '../src/wire/has-crc.js';
import { decodePacket } from '../src/wire/packet.js';
import { encodeFrameBody, encodeStreamFrame, parseStreamFrame } from '../src/wire/stream.js';

const GO = JSON.parse(
  readFileSync(new URL('./fixtures/memberlist-go.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const hex = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vsn = new Uint8Array([1, 5, 2, 0, 0, 0]);

const PUSH_PULL: PushPull = {
  join: true,
  states: [
    { name: 'node-a', addr: hex('7f000001'), port: 7946, meta: null, incarnation: 1, state: 0, vsn },
    {
      name: 'node-b',
      addr: hex('00000000000000000000ffff0a000002'),
      port: 7947,
      meta: new TextEncoder().encode('role=gpu'),
      incarnation: 300,
      state: 1,
      vsn,
    },
    {
      name: 'n'.repeat(40),
      addr: hex('0a000003'),
      port: 65535,
      meta: new Uint8Array(40).fill(0xfe),
      incarnation: 70000,
      state: 3,
      vsn,
    },
  ],
  userState: new TextEncoder().encode('hello-user-state'),
};

const aliveA: Message = {
  type: 'alive',
  body: { incarnation: 9, node: 'node-a', addr: hex('7f000001'), port: 7946, meta: hex('6d'), vsn },
};
const GOSSIP: Message[] = [
  aliveA,
  { type: 'suspect', body: { incarnation: 3, node: 'node-b', from: 'node-a' } },
  { type: 'dead', body: { incarnation: 4, node: 'node-c', from: 'node-a' } },
  { type: 'user', body: new TextEncoder().encode('hi there, user broadcast') },
  ...Array.from({ length: 6 }, () => aliveA),
];

describe('frames built by Go memberlist 0.2.2', () => {
  it('push/pull stream (plain and compressed as rawSendMsgStream sends it)', () => {
    const plain = hex(GO.pushPullPlain);
    const compressed = hex(GO.pushPullCompressed);
    for (const wire of [plain, compressed]) {
      expect(parseStreamFrame(wire)).toEqual({
        kind: 'frame',
        value: { type: 'pushPull', value: PUSH_PULL },
        consumed: wire.length,
        compressed: wire === compressed,
        encrypted: false,
      });
    }
    expect(toHex(encodeFrameBody({ type: 'pushPull', value: PUSH_PULL }))).toBe(GO.pushPullPlain);
    expect(toHex(encodeStreamFrame({ type: 'pushPull', value: PUSH_PULL }, { compress: true }))).toBe(
      GO.pushPullCompressed,
    );
  });

  it('gossip packet: CRC(compress(compound of 10))', () => {
    const wire = hex(GO.gossipPacket);
    expect(decodePacket(wire)).toEqual({
      ok: true,
      messages: GOSSIP,
      errors: [],
      crc: true,
      encrypted: false,
    });
    const rebuilt = addCrc(compressMessage(makeCompoundMessage(GOSSIP.map(encodeMessage))));
    expect(toHex(rebuilt)).toBe(GO.gossipPacket);
  });

  it('user message stream (sendUserMsg, compressed)', () => {
    const wire = hex(GO.userStream);
    expect(parseStreamFrame(wire)).toMatchObject({
      kind: 'frame',
      value: { type: 'user', value: new TextEncoder().encode('hello') },
      consumed: wire.length,
    });
    expect(
      toHex(
        encodeStreamFrame({ type: 'user', value: new TextEncoder().encode('hello') }, { compress: true }),
      ),
    ).toBe(GO.userStream);
  });
});
