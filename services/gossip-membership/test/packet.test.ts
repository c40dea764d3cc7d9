// packet.ts (UDP) and stream.ts (TCP framing): the receive and send pipelines end to end, with the
// shared-docs vectors (§6.4 compound/CRC, §8 compression, §7.2/§9 AES-GCM through the Cipher
// hook, with a test cipher on node:crypto and the vectors' fixed nonce).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Alive, Message, PushPull } from '../src/protocol/messages.js';
import type { Cipher } from '../src/wire/cipher.js';
import { encodeMessage } from '../src/wire/codec.js';
import { makeCompoundMessage } from '../src/wire/compound.js';
import { addCrc } from '../src/wire/has-crc.js';
import { decodePacket, encodePacket, wrapPacket } from '../src/wire/packet.js';
import {
  createStreamParser,
  encodeStreamFrame,
  parseStreamFrame,
  type StreamFrame,
} from '../src/wire/stream.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ACK_HEX = '0282a75061796c6f6164c0a55365714e6f07';
const ack: Message = { type: 'ackResp', body: { seqNo: 7, payload: null } };
const nack: Message = { type: 'nackResp', body: { seqNo: 9 } };
const vsn = new Uint8Array([1, 5, 2, 0, 0, 0]);
const alive = (i: number): Message => ({
  type: 'alive',
  body: {
    incarnation: i,
    node: `node-${i}`,
    addr: new Uint8Array([10, 0, 0, i & 0xff]),
    port: 7946,
    meta: null,
    vsn,
  },
});

/** AES-GCM version 1 with the vectors' fixed nonce (test only: real nonces are random). */
const KEY = Buffer.from('0123456789abcdef');
const NONCE = hex('000102030405060708090a0b');
const testCipher: Cipher = {
  sealedLength: (n) => 1 + 12 + n + 16,
  seal(plaintext, ad) {
    const c = createCipheriv('aes-128-gcm', KEY, NONCE);
    c.setAAD(ad);
    const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    return new Uint8Array(Buffer.concat([Buffer.from([1]), NONCE, ct]));
  },
  open(sealed, ad) {
    if (sealed.length < 29 || sealed[0] !== 1) return { ok: false, detail: 'bad payload' };
    try {
      const d = createDecipheriv('aes-128-gcm', KEY, sealed.subarray(1, 13));
      d.setAAD(ad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      return {
        ok: true,
        plaintext: new Uint8Array(Buffer.concat([d.update(sealed.subarray(13, -16)), d.final()])),
      };
    } catch {
      return { ok: false, detail: 'no key opened it' };
    }
  },
};

describe('UDP receive path (decodePacket)', () => {
  it('a plain message, a compound, a CRC-wrapped and a compressed one', () => {
    expect(decodePacket(hex(ACK_HEX))).toEqual({
      ok: true,
      messages: [ack],
      errors: [],
      crc: false,
      encrypted: false,
    });
    const compound = hex(`07 02 0012 0009 ${ACK_HEX} 0b81a55365714e6f09`);
    expect(decodePacket(compound)).toMatchObject({ ok: true, messages: [ack, nack], errors: [] });
    expect(decodePacket(hex(`0c a8cb2def ${ACK_HEX}`))).toMatchObject({
      ok: true,
      messages: [ack],
      crc: true,
    });
    const compressed = hex('0982a4416c676f00a3427566b70005083a05254c1e366fc29001566a4a99384ede1c0808');
    expect(decodePacket(compressed)).toMatchObject({ ok: true, messages: [ack] });
  });

  it('nested: CRC → compress → compound → compound, with a bad part and a truncated tail', () => {
    const inner = makeCompoundMessage([encodeMessage(alive(1)), hex('ff00')]);
    const outer = makeCompoundMessage([encodeMessage(ack), inner, hex('0601')]);
    const packet = wrapPacket(outer, { compress: true, crc: true });
    const r = decodePacket(packet);
    expect(r).toMatchObject({ ok: true, messages: [ack, alive(1)], crc: true });
    expect(r.ok && r.errors.map((e) => e.code)).toEqual(['UNKNOWN_TYPE', 'UNSUPPORTED_TYPE']);
    const two = makeCompoundMessage([encodeMessage(ack), encodeMessage(nack)]);
    const truncated = decodePacket(two.subarray(0, two.length - 1));
    expect(truncated).toMatchObject({ ok: true, messages: [ack], errors: [{ code: 'TRUNCATED' }] });
  });

  it('labels and encryption: the §9 vectors through the Cipher hook', () => {
    const v1 = hex(
      `01 000102030405060708090a0b ffbd634d7f0d57598942c7bf93fec1636fd0 ba8c17d65467745229fde2aa41787eae`,
    );
    expect(decodePacket(v1, { cipher: testCipher })).toMatchObject({
      ok: true,
      messages: [ack],
      encrypted: true,
    });
    const labelled = hex(
      `f4 03 6c626c 01 000102030405060708090a0b ffbd634d7f0d57598942c7bf93fec1636fd0 b11c40c6f9127970b27bc554747eb1da`,
    );
    expect(decodePacket(labelled, { cipher: testCipher, label: 'lbl' })).toMatchObject({
      ok: true,
      messages: [ack],
    });
    expect(toHex(encodePacket([ack], { cipher: testCipher, label: 'lbl' })[0] as Uint8Array)).toBe(
      toHex(labelled),
    );
    // Wrong label → mismatch; right label on the v1-without-label payload → the AD differs.
    expect(decodePacket(labelled, { cipher: testCipher })).toMatchObject({
      ok: false,
      code: 'LABEL_MISMATCH',
    });
    expect(decodePacket(addLabelTo(v1), { cipher: testCipher, label: 'lbl' })).toMatchObject({
      ok: false,
      code: 'DECRYPT_FAILED',
    });
    // GossipVerifyIncoming = false: plaintext is accepted when opening fails.
    expect(decodePacket(hex(ACK_HEX), { cipher: testCipher })).toMatchObject({
      ok: false,
      code: 'DECRYPT_FAILED',
    });
    expect(decodePacket(hex(ACK_HEX), { cipher: testCipher, allowPlaintext: true })).toMatchObject({
      ok: true,
      messages: [ack],
      encrypted: false,
    });
  });

  it('rejects the packet as a whole on CRC, top-level type and garbage', () => {
    const bad = addCrc(hex(ACK_HEX));
    bad[6] = (bad[6] ?? 0) ^ 0xff;
    expect(decodePacket(bad)).toMatchObject({ ok: false, code: 'BAD_CRC' });
    expect(decodePacket(new Uint8Array(0))).toMatchObject({ ok: false, code: 'EMPTY' });
    expect(decodePacket(hex('0d81a54572726f72a0'))).toMatchObject({ ok: false, code: 'UNSUPPORTED_TYPE' });
    expect(decodePacket(hex('63'))).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' });
    expect(decodePacket(hex('0485'))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    expect(decodePacket(addCrc(addCrc(hex(ACK_HEX))))).toMatchObject({ ok: false, code: 'UNSUPPORTED_TYPE' });
  });
});

function addLabelTo(p: Uint8Array): Uint8Array {
  return new Uint8Array([0xf4, 3, 0x6c, 0x62, 0x6c, ...p]);
}

describe('UDP send path (encodePacket)', () => {
  it('one message is plain; several are one compound; options wrap in Go order', () => {
    expect(encodePacket([ack]).map(toHex)).toEqual([ACK_HEX]);
    expect(encodePacket([ack, nack]).map(toHex)).toEqual([
      `07020012000902${ACK_HEX.slice(2)}0b81a55365714e6f09`,
    ]);
    const wrapped = encodePacket([ack], { crc: true, label: 'lbl' });
    expect(wrapped.map(toHex)).toEqual([`f4036c626c0ca8cb2def${ACK_HEX}`]);
  });

  it('round trips many messages: > 127 parts, budgets, compression and CRC', () => {
    const msgs = Array.from({ length: 300 }, (_, i) => alive(i + 1));
    const plain = encodePacket(msgs);
    expect(plain.map((p) => p[1])).toEqual([127, 127, 46]);
    expect(encodePacket(msgs, { maxCompoundParts: 255 }).map((p) => p[1])).toEqual([255, 45]);
    const budgeted = encodePacket(msgs, { maxPacketSize: 1400, compress: true, crc: true, label: 'x' });
    expect(budgeted.length).toBeGreaterThan(2);
    const back = budgeted.flatMap((p) => {
      const r = decodePacket(p, { label: 'x' });
      expect(r).toMatchObject({ ok: true, errors: [], crc: true });
      return r.ok ? r.messages : [];
    });
    expect(back).toEqual(msgs);
  });
});

const pushPull: PushPull = {
  join: true,
  states: Array.from({ length: 5 }, (_, i) => {
    const a = alive(i).body as Alive;
    return {
      name: a.node,
      addr: a.addr,
      port: a.port,
      meta: a.meta,
      incarnation: a.incarnation,
      state: i % 4,
      vsn,
    };
  }),
  userState: hex('0102030405'),
};
const FRAMES: StreamFrame[] = [
  { type: 'pushPull', value: pushPull },
  {
    type: 'ping',
    value: {
      seqNo: 3,
      node: 'n',
      sourceAddr: new Uint8Array([127, 0, 0, 1]),
      sourcePort: 1,
      sourceNode: 'm',
    },
  },
  { type: 'ackResp', value: { seqNo: 3, payload: hex('00ff') } },
  { type: 'err', value: { error: 'boom' } },
  { type: 'user', value: hex('68656c6c6f') },
];

describe('TCP streams (stream.ts)', () => {
  it('the TS join request vector parses incrementally, byte by byte, never waiting for EOF', () => {
    const wire = hex(`06 83 a54e6f646573 01 ac5573657253746174654c656e 00 a44a6f696e c3
      87 a44e616d65 a474732d78 a441646472 c4047f000001 a4506f7274 cd461e a44d657461 c0
      ab496e6361726e6174696f6e 01 a5537461746500 a356736e c406010502000000`);
    for (let i = 0; i < wire.length; i++)
      expect(parseStreamFrame(wire.subarray(0, i))).toEqual({ kind: 'more' });
    const r = parseStreamFrame(wire);
    expect(r).toMatchObject({
      kind: 'frame',
      consumed: wire.length,
      value: { type: 'pushPull', value: { join: true } },
    });
  });

  for (const f of FRAMES) {
    it(`${f.type}: every option combination round-trips, every prefix is 'more'`, () => {
      for (const compress of [false, true])
        for (const cipher of [undefined, testCipher])
          for (const label of ['', 'lbl']) {
            const wire = encodeStreamFrame(f, { compress, cipher, label, dialling: true });
            const opts = { cipher, label };
            const r = parseStreamFrame(wire, opts);
            expect(r).toEqual({
              kind: 'frame',
              value: f,
              consumed: wire.length,
              compressed: compress,
              encrypted: !!cipher,
            });
            for (const cut of [0, 1, wire.length >> 1, wire.length - 1])
              expect(parseStreamFrame(wire.subarray(0, cut), opts)).toEqual({ kind: 'more' });
            // Replies carry no label and are parsed with labelled: false.
            const reply = encodeStreamFrame(f, { compress, cipher, label, dialling: false });
            expect(parseStreamFrame(reply, { cipher, label, labelled: false })).toMatchObject({
              kind: 'frame',
              value: f,
            });
          }
    });
  }

  it('the §7.2 encrypted stream vector (ack, version 1, no label)', () => {
    const wire = hex(
      '0a0000002f 01 000102030405060708090a0b ffbd634d7f0d57598942c7bf93fec1636fd0 fb87a1553d1866d51ee3ead0894b9255',
    );
    expect(parseStreamFrame(wire, { cipher: testCipher })).toMatchObject({
      kind: 'frame',
      value: { type: 'ackResp', value: { seqNo: 7, payload: null } },
      encrypted: true,
    });
    expect(
      toHex(
        encodeStreamFrame({ type: 'ackResp', value: { seqNo: 7, payload: null } }, { cipher: testCipher }),
      ),
    ).toBe(toHex(wire));
  });

  it('stream rules: encryption expected/unexpected, labels, wrong types, limits', () => {
    const ping = encodeStreamFrame(FRAMES[1] as StreamFrame);
    expect(parseStreamFrame(ping, { cipher: testCipher })).toMatchObject({
      kind: 'error',
      code: 'ENCRYPTION_REQUIRED',
    });
    expect(parseStreamFrame(ping, { cipher: testCipher, allowPlaintext: true })).toMatchObject({
      kind: 'frame',
    });
    const enc = encodeStreamFrame(FRAMES[1] as StreamFrame, { cipher: testCipher });
    expect(parseStreamFrame(enc)).toMatchObject({ kind: 'error', code: 'ENCRYPTION_NOT_CONFIGURED' });
    expect(parseStreamFrame(hex('0a7fffffff'), { cipher: testCipher })).toMatchObject({
      kind: 'error',
      code: 'TOO_LARGE',
    });
    expect(
      parseStreamFrame(encodeStreamFrame(FRAMES[1] as StreamFrame, { label: 'a', dialling: true })),
    ).toMatchObject({
      kind: 'error',
      code: 'LABEL_MISMATCH',
    });
    expect(parseStreamFrame(hex('0481'))).toMatchObject({ kind: 'error', code: 'UNSUPPORTED_TYPE' });
    expect(parseStreamFrame(hex('f5'))).toMatchObject({ kind: 'error', code: 'UNKNOWN_TYPE' });
    // Nodes over memberlist's limit, user message over 20 MiB: refused from the header alone.
    expect(
      parseStreamFrame(hex('0683a44a6f696ec2a54e6f646573ce00200000ac5573657253746174654c656e00')),
    ).toMatchObject({
      kind: 'error',
      code: 'TOO_LARGE',
    });
    expect(parseStreamFrame(hex('0881aa557365724d73674c656ece02000000'))).toMatchObject({
      kind: 'error',
      code: 'TOO_LARGE',
    });
    expect(parseStreamFrame(new Uint8Array([0, 0xdb, 0xff, 0xff, 0xff]), { maxFrameBytes: 3 })).toMatchObject(
      {
        kind: 'error',
        code: 'TOO_LARGE',
      },
    );
  });

  it('createStreamParser resumes a push/pull arriving in small chunks, with the same result', () => {
    const big: PushPull = {
      join: false,
      states: Array.from({ length: 200 }, (_, i) => ({
        ...(pushPull.states[0] as PushPull['states'][0]),
        name: `n${i}`,
      })),
      userState: new Uint8Array(300).fill(9),
    };
    const wire = encodeStreamFrame({ type: 'pushPull', value: big });
    const parse = createStreamParser();
    let last = parse(wire.subarray(0, 0));
    for (let at = 0; at < wire.length; ) {
      at = Math.min(wire.length, at + 1 + ((at * 7) % 53));
      last = parse(wire.subarray(0, at));
      if (at < wire.length) expect(last).toEqual({ kind: 'more' });
    }
    expect(last).toEqual(parseStreamFrame(wire));
    expect(last).toMatchObject({ kind: 'frame', value: { type: 'pushPull', value: big } });
    // A corrupt state after resuming is still an error with a code.
    const bad = wire.slice();
    bad[wire.lastIndexOf(0x87)] = 0xc1; // the last state's fixmap header
    const parse2 = createStreamParser();
    parse2(bad.subarray(0, 1000));
    expect(parse2(bad)).toMatchObject({ kind: 'error', code: 'BAD_MSGPACK' });
  });
});
