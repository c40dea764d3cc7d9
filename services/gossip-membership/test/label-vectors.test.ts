// The label header against the cases of upstream memberlist's label_test.go
// (TestAddLabelHeaderToPacket, TestRemoveLabelHeaderFromPacket, TestAddLabelHeaderToStream,
// TestRemoveLabelHeaderFromStream, TestLabelOverhead), with its bytes: hasLabelMsg 244, pingMsg 0,
// errMsg 13, maxEncryptionVersion 1. Go reports an error string; we report a code
// (TRUNCATED, EMPTY_LABEL). A stream cut short inside the header is `more` here: the stream reader
// waits for more bytes and reports the truncation when the stream ends.
import { describe, expect, it } from 'vitest';
import { addLabel, labelHeader, labelOverhead, readStreamLabel, removeLabel } from '../src/wire/label.js';

const HAS_LABEL = 244;
const PING = 0;
const ERR = 13;
const MAX_ENCRYPTION_VERSION = 1;
/** label_test.go buildBuffer: numbers are bytes, strings their UTF-8. */
const buf = (...parts: (number | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p)])));
const long = 'a'.repeat(255);

describe('memberlist label_test.go vectors', () => {
  it.each<[string, Uint8Array, string, Uint8Array | 'error']>([
    ['nil buf with no label', buf(), '', buf()],
    ['nil buf with label', buf(), 'foo', buf(HAS_LABEL, 3, 'foo')],
    ['message with label', buf('something'), 'foo', buf(HAS_LABEL, 3, 'foosomething')],
    ['message with no label', buf('something'), '', buf('something')],
    ['message with almost too long label', buf('something'), long, buf(HAS_LABEL, 255, `${long}something`)],
    ['label too long by one byte', buf('something'), `${long}x`, 'error'],
  ])('AddLabelHeaderToPacket: %s', (_name, packet, label, expected) => {
    if (expected === 'error') expect(() => addLabel(packet, label)).toThrow(RangeError);
    else expect([...addLabel(packet, label)]).toEqual([...expected]);
  });

  const removeCases: [string, Uint8Array, string, Uint8Array | 'TRUNCATED' | 'EMPTY_LABEL'][] = [
    ['empty buf', buf(), '', buf()],
    ['ping with no label', buf(PING, 'blah'), '', buf(PING, 'blah')],
    ['error with no label', buf(ERR, 'blah'), '', buf(ERR, 'blah')],
    [
      'v1 encrypt with no label',
      buf(MAX_ENCRYPTION_VERSION, 'blah'),
      '',
      buf(MAX_ENCRYPTION_VERSION, 'blah'),
    ],
    ['buf too small for label', buf(HAS_LABEL, 'x'), '', 'TRUNCATED'],
    ['buf too small for label size', buf(HAS_LABEL), '', 'TRUNCATED'],
    ['label empty', buf(HAS_LABEL, 0, 'x'), '', 'EMPTY_LABEL'],
    ['label truncated', buf(HAS_LABEL, 2, 'x'), '', 'TRUNCATED'],
    ['ping with label', buf(HAS_LABEL, 3, 'abc', PING, 'blah'), 'abc', buf(PING, 'blah')],
    ['error with label', buf(HAS_LABEL, 3, 'abc', ERR, 'blah'), 'abc', buf(ERR, 'blah')],
    [
      'v1 encrypt with label',
      buf(HAS_LABEL, 3, 'abc', MAX_ENCRYPTION_VERSION, 'blah'),
      'abc',
      buf(MAX_ENCRYPTION_VERSION, 'blah'),
    ],
  ];

  it.each(removeCases)('RemoveLabelHeaderFromPacket: %s', (_name, packet, label, expected) => {
    const r = removeLabel(packet);
    if (typeof expected === 'string') expect(r).toMatchObject({ ok: false, code: expected });
    else {
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(Buffer.from(r.label).toString()).toBe(label);
      expect(r.present).toBe(label !== '');
      expect([...r.rest]).toEqual([...expected]);
    }
  });

  it.each(removeCases)('RemoveLabelHeaderFromStream: %s', (_name, stream, label, expected) => {
    const r = readStreamLabel(stream);
    if (expected === 'EMPTY_LABEL') expect(r).toMatchObject({ kind: 'error', code: 'EMPTY_LABEL' });
    else if (expected === 'TRUNCATED') expect(r).toEqual({ kind: 'more' });
    else if (stream.length === 0) expect(r).toEqual({ kind: 'more' });
    else {
      expect(r.kind).toBe('label');
      if (r.kind !== 'label') return;
      expect(Buffer.from(r.label).toString()).toBe(label);
      expect([...stream.subarray(r.consumed)]).toEqual([...expected]);
    }
  });

  it.each<[string, string, Uint8Array | 'error']>([
    ['no label', '', buf()],
    ['with label', 'foo', buf(HAS_LABEL, 3, 'foo')],
    ['almost too long label', long, buf(HAS_LABEL, 255, long)],
    ['label too long by one byte', `${long}x`, 'error'],
  ])('AddLabelHeaderToStream: %s', (_name, label, expected) => {
    if (expected === 'error') expect(() => labelHeader(label)).toThrow(RangeError);
    else expect([...labelHeader(label)]).toEqual([...expected]);
  });

  it('labelOverhead', () => {
    expect(labelOverhead('')).toBe(0);
    expect(labelOverhead('a')).toBe(3);
    expect(labelOverhead('abcdefg')).toBe(9);
  });
});
