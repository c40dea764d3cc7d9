// msgpack-writer.ts, msgpack-struct.ts, msgpack-measure.ts: the Go-compatible writer forms, the
// tolerant struct decoder and measure().
import { describe, expect, it } from 'vitest';
import { measure } from '../src/wire/msgpack-measure.js';
import { decodeStruct, type FieldSpec } from '../src/wire/msgpack-struct.js';
import { MsgpackWriter } from '../src/wire/msgpack-writer.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const w = () => new MsgpackWriter(4);

const SPEC: FieldSpec[] = [
  { name: 'SeqNo', kind: 'uint32' },
  { name: 'Port', kind: 'uint16' },
  { name: 'Addr', kind: 'bytes' },
  { name: 'Node', kind: 'string' },
  { name: 'Join', kind: 'bool' },
  { name: 'Nodes', kind: 'int' },
];
const decode = (s: string) => decodeStruct(hex(s), 0, SPEC);
/** Values by field name. */
const named = (r: ReturnType<typeof decode>) =>
  r.ok ? new Map(SPEC.map((f, i) => [f.name, r.values[i]])) : new Map<string, unknown>();

describe('MsgpackWriter (go-msgpack 0.5.x forms)', () => {
  it('uints in their smallest form', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [127, '7f'],
      [128, 'cc80'],
      [255, 'ccff'],
      [256, 'cd0100'],
      [65535, 'cdffff'],
      [65536, 'ce00010000'],
      [0xffffffff, 'ceffffffff'],
      [2 ** 32, 'cf0000000100000000'],
    ];
    for (const [v, h] of cases) expect(toHex(w().uint(v).finish())).toBe(h);
  });

  it('negative ints in their smallest signed form', () => {
    const cases: Array<[number, string]> = [
      [-1, 'ff'],
      [-32, 'e0'],
      [-33, 'd0df'],
      [-129, 'd1ff7f'],
      [-40000, 'd2ffff63c0'],
      [-(2 ** 40), 'd3ffffff0000000000'],
    ];
    for (const [v, h] of cases) expect(toHex(w().int(v).finish())).toBe(h);
  });

  it('strings and bytes use fixstr/str16/str32, never str8 or bin', () => {
    expect(toHex(w().str('').finish())).toBe('a0');
    expect(toHex(w().str('a'.repeat(31)).finish()).slice(0, 2)).toBe('bf');
    expect(toHex(w().str('a'.repeat(32)).finish()).slice(0, 6)).toBe('da0020');
    expect(toHex(w().bytes(new Uint8Array(255)).finish()).slice(0, 6)).toBe('da00ff');
    expect(toHex(w().bytes(new Uint8Array(70000)).finish()).slice(0, 10)).toBe('db00011170');
    expect(toHex(w().bytes(null).finish())).toBe('c0');
    expect(toHex(w().str('é').finish())).toBe('a2c3a9');
  });

  it('maps, bools, nil; the buffer grows', () => {
    const out = w().map(3).bool(true).bool(false).nil().map(16).map(70000).finish();
    expect(toHex(out)).toBe('83c3c2c0de0010df00011170');
  });
});

describe('decodeStruct (what Go accepts)', () => {
  it('any key order, unknown keys skipped, case-sensitive keys', () => {
    const r = decode(`84 a44e6f6465 a178 a7556e6b6e6f776e 82a161c0a16291c0 a57365716e6f 05 a55365714e6f 09`);
    expect(r.ok && Object.fromEntries(named(r))).toEqual({
      SeqNo: 9,
      Port: 0,
      Addr: null,
      Node: 'x',
      Join: false,
      Nodes: 0,
    });
  });

  it('any integer width, negative int for int fields, nil = zero', () => {
    const r = decode(
      `84 a55365714e6f d200000009 a4506f7274 cf0000000000000050 a54e6f646573 f6 a441646472 c0`,
    );
    expect(r.ok && [named(r).get('SeqNo'), named(r).get('Port'), named(r).get('Nodes')]).toEqual([
      9, 80, -10,
    ]);
  });

  it('signed and 64-bit forms for int fields; 64-bit values beyond 2^53 are refused', () => {
    const cases: Array<[string, number]> = [
      ['d0df', -33],
      ['d1ff7f', -129],
      ['d2ffff63c0', -40000],
      ['d3ffffff0000000000', -(2 ** 40)],
      ['d3ffffffffffffffff', -1],
      ['d30000010000000000', 2 ** 40],
      ['cf001fffffffffffff', Number.MAX_SAFE_INTEGER],
    ];
    for (const [h, v] of cases) expect(named(decode(`81 a54e6f646573 ${h}`)).get('Nodes')).toBe(v);
    for (const h of ['cf0020000000000000', 'd38000000000000000'])
      expect(decode(`81 a54e6f646573 ${h}`)).toMatchObject({ ok: false, code: 'BAD_MSGPACK' });
  });

  it('bytes from str8, bin8/16/32 and arrays of small ints', () => {
    for (const form of [
      'd903010502',
      'c403010502',
      'c5000301 0502',
      'c60000000301 0502',
      '93 01 05 02',
      '93 01 cc05 d002',
    ]) {
      const r = decode(`81 a441646472 ${form}`);
      expect(r.ok && toHex(named(r).get('Addr') as Uint8Array)).toBe('010502');
    }
  });

  it('bools from c2/c3 and fixint 0/1; the positional array form', () => {
    for (const [h, v] of [
      ['c3', true],
      ['01', true],
      ['c2', false],
      ['00', false],
    ] as const) {
      const r = decode(`81 a44a6f696e ${h}`);
      expect(r.ok && named(r).get('Join')).toBe(v);
    }
    const r = decodeStruct(hex('93 07 cd1f0a a47f000001'), 0, SPEC);
    expect(
      r.ok && [named(r).get('SeqNo'), named(r).get('Port'), toHex(named(r).get('Addr') as Uint8Array)],
    ).toEqual([7, 7946, '7f000001']);
  });

  it('rejects floats, negatives for unsigned, overflow, bin for strings and non-maps', () => {
    const bad: Array<[string, string]> = [
      ['81 a55365714e6f cb4022000000000000', 'BAD_MSGPACK'],
      ['81 a55365714e6f ca41100000', 'BAD_MSGPACK'],
      ['81 a55365714e6f ff', 'BAD_MSGPACK'],
      ['81 a4506f7274 ce00010000', 'BAD_MSGPACK'],
      ['81 a44e6f6465 c40178', 'BAD_MSGPACK'],
      ['81 a44a6f696e 02', 'BAD_MSGPACK'],
      ['a3616263', 'BAD_MSGPACK'],
      ['81 a55365714e6f', 'TRUNCATED'],
      ['8f', 'TRUNCATED'],
      ['', 'TRUNCATED'],
      ['81 a44e6f6465 a5 6162', 'TRUNCATED'],
    ];
    for (const [h, code] of bad) expect({ h, r: decode(h) }).toMatchObject({ h, r: { ok: false, code } });
  });
});

describe('measure', () => {
  it('sizes complete objects of every family', () => {
    const cases = [
      '00',
      'ff',
      'c0',
      'cc01',
      'cf0000000000000001',
      'ca00000000',
      'a3616263',
      'd903616263',
      'da0003616263',
      'c4020102',
      '93010203',
      '82a161c0a16292c0c0',
      'dc0002c0c0',
      'de0001c0c0',
      'd40100',
      'c7020001 02',
      '81a175 85 a16101 a16202 a16303 a16404 a16505',
    ];
    for (const c of cases) {
      const b = hex(c);
      expect({ c, r: measure(b) }).toEqual({ c, r: { ok: true, size: b.length } });
      // Every strict prefix is incomplete.
      for (let i = 0; i < b.length; i++)
        expect(measure(b.subarray(0, i))).toEqual({ ok: false, code: 'INCOMPLETE' });
    }
  });

  it('measures at an offset and ignores what follows', () => {
    expect(measure(hex('ffff 82a161c0a162c0 0102'), 2)).toEqual({ ok: true, size: 7 });
  });

  it('rejects 0xc1 and absurd nesting without recursion', () => {
    expect(measure(hex('c1'))).toMatchObject({ ok: false, code: 'BAD_MSGPACK' });
    expect(measure(new Uint8Array(100_000).fill(0x91))).toMatchObject({ ok: false, code: 'TOO_DEEP' });
  });
});
