// Choosing the advertised address like memberlist: explicit, else the bind address, else (wildcard
// bind) the first private IPv4.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { chooseAdvertiseAddr, isPrivateIPv4 } from '../src/advertise.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: `${address}/24`,
});
const v6 = (address: string): NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '00:00:00:00:00:00',
  internal: false,
  cidr: `${address}/64`,
  scopeid: 0,
});

describe('chooseAdvertiseAddr', () => {
  const ifs = {
    lo: [v4('127.0.0.1', true)],
    eth0: [v6('fe80::1'), v4('203.0.113.5')],
    wlan0: [v4('192.168.1.20')],
  };
  it('uses --ip when given', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', '10.9.8.7', ifs)).toEqual({ ip: '10.9.8.7' });
    expect(chooseAdvertiseAddr('127.0.0.5', '10.9.8.7', ifs)).toEqual({ ip: '10.9.8.7' });
  });
  it('uses a specific bind address', () => {
    expect(chooseAdvertiseAddr('127.0.0.5', undefined, ifs)).toEqual({ ip: '127.0.0.5' });
  });
  it('prefers a private IPv4 over a public one with a wildcard bind', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', undefined, ifs)).toEqual({ ip: '192.168.1.20' });
  });
  it('falls back to any non-loopback IPv4', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', undefined, { eth0: [v4('203.0.113.5')] })).toEqual({
      ip: '203.0.113.5',
    });
  });
  it('explains when nothing can be advertised', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', undefined, { lo: [v4('127.0.0.1', true)], x: undefined })).toEqual({
      error: expect.stringMatching(/set --ip/),
    });
  });
  it.each([
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['100.64.0.1', true],
    ['100.128.0.1', false],
    ['8.8.8.8', false],
  ])('isPrivateIPv4(%s) = %s', (ip, expected) => {
    expect(isPrivateIPv4(ip)).toBe(expected);
  });
});
