// The codec against the Go vectors of docs/wire.md §5 (exact go-msgpack 0.5.x output): encode must
// produce these bytes, decode must give back these values.
import { describe, expect, it } from 'vitest';
import type { PushNodeState } from '../src/protocol/messages.js';
import {
  decodeMessage,
  encodedSize,
  encodeMessage,
  readPushNodeState,
  readPushPullHeader,
  readUserMsgHeader,
  type WireMessage,
  writePushNodeState,
  writePushPullHeader,
  writeUserMsgHeader,
} from '../src/wire/codec.js';
import { MsgpackWriter } from '../src/wire/msgpack-writer.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ip = hex('7f000001');
const vsn = hex('010502000000');

/** [message, Go body hex (without the type byte)] */
const VECTORS: Array<[string, WireMessage, string]> = [
  [
    'ping with Source*',
    {
      type: 'ping',
      body: { seqNo: 7, node: 'node-b', sourceAddr: ip, sourcePort: 7946, sourceNode: 'node-a' },
    },
    `85 a4 4e6f6465 a6 6e6f64652d62  a5 5365714e6f 07  aa 536f7572636541646472 a4 7f000001
     aa 536f757263654e6f6465 a6 6e6f64652d61  aa 536f75726365506f7274 cd 1f0a`,
  ],
  [
    'ping seq 300, empty node',
    { type: 'ping', body: { seqNo: 300, node: '' } },
    '82 a44e6f6465 a0 a55365714e6f cd012c',
  ],
  [
    'indirectPingReq',
    {
      type: 'indirectPing',
      body: {
        seqNo: 9,
        target: ip,
        port: 7947,
        node: 'node-c',
        nack: true,
        sourceAddr: ip,
        sourcePort: 7946,
        sourceNode: 'node-a',
      },
    },
    `88 a44e61636b c3 a44e6f6465 a66e6f64652d63 a4506f7274 cd1f0b a55365714e6f 09
     aa536f7572636541646472 a47f000001 aa536f757263654e6f6465 a66e6f64652d61
     aa536f75726365506f7274 cd1f0a a6546172676574 a47f000001`,
  ],
  [
    'ackResp nil payload',
    { type: 'ackResp', body: { seqNo: 7, payload: null } },
    '82 a75061796c6f6164 c0 a55365714e6f 07',
  ],
  [
    'ackResp empty payload',
    { type: 'ackResp', body: { seqNo: 7, payload: new Uint8Array(0) } },
    '82 a75061796c6f6164 a0 a55365714e6f 07',
  ],
  ['nackResp 9', { type: 'nackResp', body: { seqNo: 9 } }, '81 a55365714e6f 09'],
  ['nackResp 70000', { type: 'nackResp', body: { seqNo: 70000 } }, '81 a55365714e6f ce00011170'],
  ['errResp', { type: 'err', body: { error: 'boom' } }, '81 a54572726f72 a4626f6f6d'],
  [
    'suspect',
    { type: 'suspect', body: { incarnation: 3, node: 'node-b', from: 'node-a' } },
    '83 a446726f6d a66e6f64652d61 ab496e6361726e6174696f6e 03 a44e6f6465 a66e6f64652d62',
  ],
  [
    'alive',
    { type: 'alive', body: { incarnation: 1, node: 'node-a', addr: ip, port: 7946, meta: null, vsn } },
    `86 a441646472 a47f000001 ab496e6361726e6174696f6e 01 a44d657461 c0
     a44e6f6465 a66e6f64652d61 a4506f7274 cd1f0a a356736e a6010502000000`,
  ],
  [
    'alive with a 16-byte address',
    {
      type: 'alive',
      body: {
        incarnation: 1,
        node: 'node-a',
        addr: hex('00000000000000000000ffff7f000001'),
        port: 7946,
        meta: null,
        vsn,
      },
    },
    `86 a441646472 b000000000000000000000ffff7f000001 ab496e6361726e6174696f6e 01 a44d657461 c0
     a44e6f6465 a66e6f64652d61 a4506f7274 cd1f0a a356736e a6010502000000`,
  ],
  [
    'dead (a leave)',
    { type: 'dead', body: { incarnation: 2, node: 'node-a', from: 'node-a' } },
    '83 a446726f6d a66e6f64652d61 ab496e6361726e6174696f6e 02 a44e6f6465 a66e6f64652d61',
  ],
  ['user', { type: 'user', body: hex('68656c6c6f') }, '68656c6c6f'],
  [
    'compress (the LZW ack, docs/wire.md §8)',
    { type: 'compress', body: { algo: 0, buf: hex('0005083a05254c1e366fc29001566a4a99384ede1c0808') } },
    '82 a4416c676f 00 a3427566 b7 0005083a05254c1e366fc29001566a4a99384ede1c0808',
  ],
];

describe('codec: Go vectors (docs/wire.md §5)', () => {
  for (const [name, msg, body] of VECTORS) {
    it(`${name}: encodes byte-exact and decodes back`, () => {
      const typeByte = {
        ping: '00',
        indirectPing: '01',
        ackResp: '02',
        nackResp: '0b',
        err: '0d',
        suspect: '03',
        alive: '04',
        dead: '05',
        user: '08',
        compress: '09',
      }[msg.type as string];
      const wire = `${typeByte}${body.replace(/\s+/g, '')}`;
      expect(toHex(encodeMessage(msg))).toBe(wire);
      expect(encodedSize(msg)).toBe(wire.length / 2);
      expect(decodeMessage(hex(wire))).toEqual({ ok: true, value: msg });
    });
  }

  it('a 70000-byte string uses str32 (db) and decodes back', () => {
    const e = 'y'.repeat(70000);
    const wire = encodeMessage({ type: 'err', body: { error: e } });
    expect(toHex(wire.subarray(0, 13))).toBe('0d81a54572726f72db00011170');
    expect(decodeMessage(wire)).toEqual({ ok: true, value: { type: 'err', body: { error: e } } });
  });

  it('errResp of 40 chars uses str16 (da 0028), never str8', () => {
    const e = 'x'.repeat(40);
    expect(toHex(encodeMessage({ type: 'err', body: { error: e } }))).toBe(
      `0d81a54572726f72da0028${Buffer.from(e).toString('hex')}`,
    );
  });

  it('pushPullHeader: Go 0.5 vectors, and v2 int16/int32 forms decode the same', () => {
    const w = new MsgpackWriter();
    writePushPullHeader(w, { nodes: 2, userStateLen: 0, join: true });
    expect(toHex(w.finish())).toBe('83a44a6f696ec3a54e6f64657302ac5573657253746174654c656e00');
    const w2 = new MsgpackWriter();
    writePushPullHeader(w2, { nodes: 200, userStateLen: 40000, join: false });
    const v05 = '83 a44a6f696e c2 a54e6f646573 ccc8 ac5573657253746174654c656e cd9c40';
    const v2 = '83 a44a6f696e c2 a54e6f646573 d100c8 ac5573657253746174654c656e d200009c40';
    expect(toHex(w2.finish())).toBe(v05.replace(/\s+/g, ''));
    for (const v of [v05, v2]) {
      expect(readPushPullHeader(hex(v))).toMatchObject({
        ok: true,
        value: { nodes: 200, userStateLen: 40000, join: false },
      });
    }
  });

  it('userMsgHeader and pushNodeState vectors', () => {
    const w = new MsgpackWriter();
    writeUserMsgHeader(w, { userMsgLen: 5 });
    expect(toHex(w.finish())).toBe('81aa557365724d73674c656e05');
    expect(readUserMsgHeader(hex('81aa557365724d73674c656e05'))).toMatchObject({
      ok: true,
      value: { userMsgLen: 5 },
    });
    const state: PushNodeState = {
      name: 'node-a',
      addr: ip,
      port: 7946,
      meta: hex('6d'),
      incarnation: 1,
      state: 0,
      vsn,
    };
    const go = `87 a441646472 a47f000001 ab496e6361726e6174696f6e 01 a44d657461 a16d a44e616d65 a66e6f64652d61
       a4506f7274 cd1f0a a5537461746500 a356736e a6010502000000`.replace(/\s+/g, '');
    const ws = new MsgpackWriter();
    writePushNodeState(ws, state);
    expect(toHex(ws.finish())).toBe(go);
    expect(readPushNodeState(hex(go))).toEqual({ ok: true, value: state, end: go.length / 2 });
  });

  it('decodes the TS join request (bin fields, other key order) that Go accepted', () => {
    const wire = hex(`06 83 a54e6f646573 01 ac5573657253746174654c656e 00 a44a6f696e c3
      87 a44e616d65 a474732d78 a441646472 c4047f000001 a4506f7274 cd461e a44d657461 c0
      ab496e6361726e6174696f6e 01 a5537461746500 a356736e c406010502000000`);
    const state = { name: 'ts-x', addr: ip, port: 17950, meta: null, incarnation: 1, state: 0, vsn };
    expect(decodeMessage(wire)).toEqual({
      ok: true,
      value: { type: 'pushPull', body: { join: true, states: [state], userState: new Uint8Array(0) } },
    });
    // Re-encoded the Go way: sorted keys, raw-str bytes.
    const again = encodeMessage({
      type: 'pushPull',
      body: { join: true, states: [state], userState: new Uint8Array(0) },
    });
    expect(toHex(again)).toBe(
      '0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e00' +
        '87a441646472a47f000001ab496e6361726e6174696f6e01a44d657461c0a44e616d65a474732d78a4506f7274cd461ea5537461746500a356736ea6010502000000',
    );
  });

  it('decodes the TS-encoded alive (docs/wire.md §4.4) (str8 name, bin fields)', () => {
    const name = 'ts-node-0123456789abcdef0123456789abcd'; // 38 bytes → d9 26
    const wire = hex(
      `04 86 ab496e6361726e6174696f6e 01 a44e6f6465 d926 ${Buffer.from(name).toString('hex')}
       a441646472 c4047f000001 a4506f7274 cd1f0a a44d657461 c400 a356736e c406010502000000`,
    );
    expect(decodeMessage(wire)).toEqual({
      ok: true,
      value: {
        type: 'alive',
        body: { incarnation: 1, node: name, addr: ip, port: 7946, meta: new Uint8Array(0), vsn },
      },
    });
  });

  it('pushPull round trip with user state and many nodes', () => {
    const states: PushNodeState[] = Array.from({ length: 50 }, (_, i) => ({
      name: `node-${i}-${'x'.repeat(i)}`,
      addr: hex(i % 2 ? '7f000001' : '00000000000000000000ffff0a000001'),
      port: 7946 + i,
      meta: i % 3 ? null : new Uint8Array(i * 10).fill(i),
      incarnation: i * 100_000,
      state: i % 4,
      vsn,
    }));
    const msg: WireMessage = { type: 'pushPull', body: { join: false, states, userState: hex('deadbeef') } };
    expect(decodeMessage(encodeMessage(msg))).toEqual({ ok: true, value: msg });
  });

  it('wrappers: hasCrc, encrypt passthrough and compound parts', () => {
    const crc = hex('0ca8cb2def0282a75061796c6f6164c0a55365714e6f07');
    expect(decodeMessage(crc)).toEqual({
      ok: true,
      value: {
        type: 'hasCrc',
        body: { crc: 0xa8cb2def, payload: hex('0282a75061796c6f6164c0a55365714e6f07') },
      },
    });
    expect(
      toHex(
        encodeMessage({
          type: 'hasCrc',
          body: { crc: 0xa8cb2def, payload: hex('0282a75061796c6f6164c0a55365714e6f07') },
        }),
      ),
    ).toBe(toHex(crc));
    expect(decodeMessage(hex('0a01020304'))).toEqual({
      ok: true,
      value: { type: 'encrypt', body: hex('01020304') },
    });
    const compound = hex('07 02 0012 0009 0282a75061796c6f6164c0a55365714e6f07 0b81a55365714e6f09');
    expect(decodeMessage(compound)).toEqual({
      ok: true,
      value: {
        type: 'compound',
        body: [hex('0282a75061796c6f6164c0a55365714e6f07'), hex('0b81a55365714e6f09')],
      },
    });
  });
});

describe('codec: seeded round trips', () => {
  function xorshift(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
  }

  it('1000 random messages of every type decode to what was encoded', () => {
    const r = xorshift(99);
    const u32 = () => [0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffff, r()][r() % 10] as number;
    const u16 = () => u32() & 0xffff;
    const text = () => {
      const n = [0, 1, 31, 32, 255, 256, 1000][r() % 7] as number;
      return Array.from({ length: n }, () =>
        r() % 5 === 0 ? 'é€' : String.fromCharCode(32 + (r() % 90)),
      ).join('');
    };
    const bytes = () => new Uint8Array([0, 4, 16, 31, 32, 300][r() % 6] as number).map(() => r() & 0xff);
    const maybeSource = () =>
      r() % 2
        ? { sourceAddr: new Uint8Array([1, 2, 3, 4]), sourcePort: 1 + (u16() % 65535), sourceNode: 'src' }
        : {};
    const gens: Array<() => WireMessage> = [
      () => ({ type: 'ping', body: { seqNo: u32(), node: text(), ...maybeSource() } }),
      () => ({
        type: 'indirectPing',
        body: {
          seqNo: u32(),
          target: bytes(),
          port: u16(),
          node: text(),
          nack: r() % 2 === 0,
          ...maybeSource(),
        },
      }),
      () => ({ type: 'ackResp', body: { seqNo: u32(), payload: r() % 3 ? bytes() : null } }),
      () => ({ type: 'nackResp', body: { seqNo: u32() } }),
      () => ({ type: 'suspect', body: { incarnation: u32(), node: text(), from: text() } }),
      () => ({ type: 'dead', body: { incarnation: u32(), node: text(), from: text() } }),
      () => ({
        type: 'alive',
        body: {
          incarnation: u32(),
          node: text(),
          addr: bytes(),
          port: u16(),
          meta: r() % 2 ? bytes() : null,
          vsn: bytes(),
        },
      }),
      () => ({ type: 'err', body: { error: text() } }),
      () => ({ type: 'user', body: bytes() }),
    ];
    for (let i = 0; i < 1000; i++) {
      const m = (gens[i % gens.length] as () => WireMessage)();
      const wire = encodeMessage(m);
      expect(encodedSize(m)).toBe(wire.length);
      expect(decodeMessage(wire)).toEqual({ ok: true, value: m });
    }
  });
});
