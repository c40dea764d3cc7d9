// compound.ts, has-crc.ts and label.ts: the §6.4 vectors, Go's splitting and truncation rules, the
// piggyback packer, and memberlist's label_test.go cases.
import { describe, expect, it } from 'vitest';
import {
  compoundSize,
  decodeCompound,
  makeCompoundMessage,
  makeCompoundMessages,
  packPackets,
} from '../src/wire/compound.js';
import { addCrc, stripCrc } from '../src/wire/has-crc.js';
import {
  addLabel,
  checkLabel,
  labelHeader,
  labelOverhead,
  readStreamLabel,
  removeLabel,
} from '../src/wire/label.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ACK = hex('0282a75061796c6f6164c0a55365714e6f07');
const NACK = hex('0b81a55365714e6f09');

describe('compound', () => {
  it('the §6.4 vector, both ways', () => {
    const wire = '07020012000902' + '82a75061796c6f6164c0a55365714e6f07' + '0b81a55365714e6f09';
    expect(toHex(makeCompoundMessage([ACK, NACK]))).toBe(wire);
    expect(decodeCompound(hex(wire).subarray(1))).toEqual({ ok: true, parts: [ACK, NACK], truncated: 0 });
    expect(compoundSize([ACK.length, NACK.length])).toBe(wire.length / 2);
  });

  it('splits at 127 parts by default (memberlist 0.2.2 corrupts 128+), at 255 on request; last single part still a compound', () => {
    const parts = Array.from({ length: 511 }, (_, i) => new Uint8Array([8, i & 0xff]));
    const heads = (cs: Uint8Array[]) => cs.map((c) => [c[0], c[1]]);
    const safe = makeCompoundMessages(parts);
    expect(heads(safe)).toEqual([
      [7, 127],
      [7, 127],
      [7, 127],
      [7, 127],
      [7, 3],
    ]);
    const wide = makeCompoundMessages(parts, 255);
    expect(heads(wide)).toEqual([
      [7, 255],
      [7, 255],
      [7, 1],
    ]);
    for (const out of [safe, wide]) {
      const back = out.flatMap((c) => {
        const r = decodeCompound(c.subarray(1));
        return r.ok ? r.parts : [];
      });
      expect(back).toEqual(parts);
    }
    expect(() => makeCompoundMessage(parts)).toThrow(RangeError);
    expect(() => makeCompoundMessage([new Uint8Array(65536)])).toThrow(RangeError);
  });

  it('decoding: truncated parts kept up to the cut, trailing garbage ignored, short headers are errors', () => {
    const body = makeCompoundMessage([ACK, NACK]).subarray(1);
    expect(decodeCompound(body.subarray(0, body.length - 1))).toEqual({
      ok: true,
      parts: [ACK],
      truncated: 1,
    });
    expect(decodeCompound(body.subarray(0, 6))).toEqual({ ok: true, parts: [], truncated: 2 });
    const trailing = new Uint8Array([...body, 0xde, 0xad]);
    expect(decodeCompound(trailing)).toEqual({ ok: true, parts: [ACK, NACK], truncated: 0 });
    expect(decodeCompound(new Uint8Array(0))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    // memberlist util_test TestDecodeCompoundMessage_NumberOfPartsOverflow: 0x80 parts, no lengths.
    expect(decodeCompound(new Uint8Array([0x80]))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    expect(decodeCompound(new Uint8Array([0x02, 0x00]))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    expect(decodeCompound(new Uint8Array([0x00]))).toEqual({ ok: true, parts: [], truncated: 0 });
  });

  it('packPackets fills packets in order under the budget; one message alone is plain', () => {
    const msgs = Array.from({ length: 10 }, (_, i) => new Uint8Array(100 + i).fill(i));
    const { packets, oversized } = packPackets(msgs, 400);
    expect(oversized).toBe(0);
    for (const p of packets) expect(p.length).toBeLessThanOrEqual(400);
    const back = packets.flatMap((p) => {
      if (p[0] !== 7) return [p];
      const r = decodeCompound(p.subarray(1));
      return r.ok ? r.parts : [];
    });
    expect(back).toEqual(msgs);
    // 3 per packet: 2 + 3 × (2 + ~104) ≤ 400, a 4th would not fit.
    expect(packets.map((p) => p[1])).toEqual([3, 3, 3, msgs[9]?.[1]]);
    expect(packets[3]).toBe(msgs[9]);
  });

  it('packPackets: oversized messages go alone, and never more than 127 (or maxParts) parts per compound', () => {
    const big = new Uint8Array(2000).fill(8);
    const r = packPackets([new Uint8Array([8]), big, new Uint8Array([8, 1])], 1400);
    expect(r.oversized).toBe(1);
    expect(r.packets).toEqual([new Uint8Array([8]), big, new Uint8Array([8, 1])]);
    const many = packPackets(
      Array.from({ length: 600 }, () => new Uint8Array([8])),
      100_000,
    );
    expect(many.packets.map((p) => p[1])).toEqual([127, 127, 127, 127, 92]);
    const wide = packPackets(
      Array.from({ length: 600 }, () => new Uint8Array([8])),
      100_000,
      255,
    );
    expect(wide.packets.map((p) => p[1])).toEqual([255, 255, 90]);
    expect(packPackets([], 1400)).toEqual({ packets: [], oversized: 0 });
  });
});

describe('the hasCrc wrapper', () => {
  it('the §6.4 vector', () => {
    const wire = hex('0c a8cb2def 0282a75061796c6f6164c0a55365714e6f07');
    expect(toHex(addCrc(ACK))).toBe(toHex(wire));
    expect(stripCrc(wire)).toEqual({ ok: true, payload: ACK, hadCrc: true });
  });

  it('no wrapper passes through; a flipped bit or a short wrapper fails with a code', () => {
    expect(stripCrc(ACK)).toEqual({ ok: true, payload: ACK, hadCrc: false });
    const bad = addCrc(ACK);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    expect(stripCrc(bad)).toMatchObject({ ok: false, code: 'BAD_CRC' });
    expect(stripCrc(hex('0c0102'))).toMatchObject({ ok: false, code: 'TRUNCATED' });
  });
});

describe('label (memberlist label_test.go)', () => {
  it('adds and removes the header; empty label = no header', () => {
    expect(toHex(addLabel(ACK, 'lbl'))).toBe(`f4036c626c${toHex(ACK)}`);
    expect(addLabel(ACK, '')).toBe(ACK);
    expect(labelOverhead('')).toBe(0);
    expect(labelOverhead('lbl')).toBe(5);
    const r = removeLabel(addLabel(ACK, 'lbl'));
    expect(r.ok && [Buffer.from(r.label).toString(), r.present, toHex(r.rest)]).toEqual([
      'lbl',
      true,
      toHex(ACK),
    ]);
    expect(removeLabel(ACK)).toMatchObject({ ok: true, present: false, rest: ACK });
  });

  it('255 bytes maximum, empty-when-present and truncation are errors', () => {
    const max = 'x'.repeat(255);
    const r = removeLabel(addLabel(new Uint8Array([1]), max));
    expect(r.ok && r.label.length).toBe(255);
    expect(() => labelHeader('x'.repeat(256))).toThrow(RangeError);
    expect(removeLabel(hex('f400'))).toMatchObject({ ok: false, code: 'EMPTY_LABEL' });
    expect(removeLabel(hex('f4'))).toMatchObject({ ok: false, code: 'TRUNCATED' });
    expect(removeLabel(hex('f40461'))).toMatchObject({ ok: false, code: 'TRUNCATED' });
  });

  it('stream labels are read incrementally', () => {
    const s = hex('f4036c626c06');
    expect(readStreamLabel(s.subarray(0, 0))).toEqual({ kind: 'more' });
    expect(readStreamLabel(s.subarray(0, 1))).toEqual({ kind: 'more' });
    expect(readStreamLabel(s.subarray(0, 4))).toEqual({ kind: 'more' });
    expect(readStreamLabel(s)).toMatchObject({ kind: 'label', present: true, consumed: 5 });
    expect(readStreamLabel(hex('06'))).toMatchObject({ kind: 'label', present: false, consumed: 0 });
    expect(readStreamLabel(hex('f400'))).toMatchObject({ kind: 'error', code: 'EMPTY_LABEL' });
  });

  it('the receive rule, with and without SkipInboundLabelCheck', () => {
    const lbl = Buffer.from('lbl');
    expect(checkLabel(lbl, true, { label: 'lbl' })).toMatchObject({ ok: true });
    expect(checkLabel(new Uint8Array(0), false, { label: 'lbl' })).toMatchObject({
      ok: false,
      code: 'LABEL_MISMATCH',
    });
    expect(checkLabel(lbl, true, { label: '' })).toMatchObject({ ok: false, code: 'LABEL_MISMATCH' });
    expect(checkLabel(Buffer.from('lbx'), true, { label: 'lbl' })).toMatchObject({ ok: false });
    expect(checkLabel(new Uint8Array(0), false, { label: '' })).toMatchObject({ ok: true });
    const skip = { label: 'lbl', skipInboundCheck: true };
    expect(checkLabel(new Uint8Array(0), false, skip)).toMatchObject({
      ok: true,
      label: new Uint8Array(lbl),
    });
    expect(checkLabel(lbl, true, skip)).toMatchObject({ ok: false, code: 'LABEL_MISMATCH' });
  });
});
