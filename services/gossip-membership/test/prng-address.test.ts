// The seeded random source and address helpers of the protocol core.

import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressKey, ipBytes, ipString, normaliseIp, sameIp } from '../src/protocol/address.js';
import { createRng, shuffle } from '../src/protocol/prng.js';

describe('createRng (mulberry32)', () => {
  it('replays the same sequence for the same seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xs);
  });

  it('stays in range and is roughly uniform', () => {
    const r = createRng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const v = r.int(10);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
      counts[v] += 1;
      const f = r.next();
      expect(f >= 0 && f < 1).toBe(true);
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(r.int(0)).toBe(0);
  });

  it('shuffles in place as a permutation', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    shuffle(xs, createRng(3));
    expect([...xs].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('addresses', () => {
  const v4 = Uint8Array.of(127, 0, 0, 1);
  const mapped = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1);
  const v6 = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

  it('treats 4-byte and IPv4-mapped 16-byte forms as the same IP', () => {
    expect([...normaliseIp(mapped)]).toEqual([127, 0, 0, 1]);
    expect(sameIp(v4, mapped)).toBe(true);
    expect(sameIp(v4, Uint8Array.of(127, 0, 0, 2))).toBe(false);
    expect(sameIp(v6, mapped)).toBe(false);
  });

  it('formats IPs and address keys', () => {
    expect(ipString(mapped)).toBe('127.0.0.1');
    expect(ipString(v6)).toBe('fe80::1');
    expect(ipString(new Uint8Array(16))).toBe('::');
    expect(ipString(Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1))).toBe(
      '2001:db8:0:1::1',
    );
    expect(ipString(Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6))).toBe(
      '2001:db8:1:2:3:4:5:6',
    );
    expect(addressKey({ addr: v4, port: 7946 })).toBe('127.0.0.1:7946');
    expect(addressKey({ addr: v6, port: 7946 })).toBe('[fe80::1]:7946');
  });
});

describe('ipBytes', () => {
  it.each([
    ['127.0.0.1', [127, 0, 0, 1]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:10.1.2.3', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]],
    ['fe80::1:2', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]],
  ])('%s', (ip, bytes) => {
    expect(Array.from(ipBytes(ip))).toEqual(bytes);
  });
  it('refuses a non-IP', () => {
    expect(() => ipBytes('host')).toThrow(/not an IP/);
  });
  it.each([
    '10.0.0.256',
    '1.2.3',
    '01.2.3.4',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '1:2:3:4:5:6:7:8::',
    '12345::1',
    '::ffff:1.2.3.400',
    'g::1',
    '1:2:3:4:5:6:7::',
    '::',
    '2001:db8::1.2.3.4',
    'fe80::1%eth0',
  ])('accepts %s exactly when node:net does', (ip) => {
    const ours = (() => {
      try {
        return ipBytes(ip).length;
      } catch {
        return 0;
      }
    })();
    expect(ours === 0 ? 0 : ours === 4 ? 4 : 6).toBe(isIP(ip));
  });
  it('is the inverse of ipString', () => {
    for (const ip of ['10.1.2.3', '::1', 'fe80::1:2', '2001:db8:0:1::1', '2001:db8:1:2:3:4:5:6'])
      expect(ipString(ipBytes(ip))).toBe(ip);
  });
});
