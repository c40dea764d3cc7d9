// Choosing the advertised address: explicit, else the bind address, else (wildcard bind) the IPv4 of
// the default route's interface, never a USB/container bridge; fallbacks; route table parsing.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { chooseAdvertiseAddr, isPrivateIPv4 } from '../src/advertise.js';
import {
  chooseInterfaceAddress,
  type DefaultRoute,
  isExcludedInterface,
  parseIpRouteDefault,
  parseProcNetRoute,
} from '../src/advertise-interface.js';

const v4 = (address: string, internal = false, netmask = '255.255.255.0'): NetworkInterfaceInfo => ({
  address,
  netmask,
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
    expect(chooseAdvertiseAddr('0.0.0.0', '10.9.8.7', ifs)).toEqual({ ip: '10.9.8.7', reason: 'explicit' });
    expect(chooseAdvertiseAddr('127.0.0.5', '10.9.8.7', ifs)).toEqual({ ip: '10.9.8.7', reason: 'explicit' });
  });
  it('uses a specific bind address', () => {
    expect(chooseAdvertiseAddr('127.0.0.5', undefined, ifs)).toEqual({
      ip: '127.0.0.5',
      reason: 'bind-address',
    });
  });
  it('prefers a private IPv4 over a public one with a wildcard bind', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', undefined, ifs)).toMatchObject({
      ip: '192.168.1.20',
      reason: 'private-fallback',
    });
  });
  it('falls back to any non-loopback IPv4', () => {
    expect(chooseAdvertiseAddr('0.0.0.0', undefined, { eth0: [v4('203.0.113.5')] })).toMatchObject({
      ip: '203.0.113.5',
      reason: 'any-fallback',
    });
  });
  it('falls back to loopback when nothing else can be advertised', () => {
    expect(
      chooseAdvertiseAddr('0.0.0.0', undefined, { lo: [v4('127.0.0.1', true)], x: undefined }),
    ).toMatchObject({ ip: '127.0.0.1', reason: 'loopback-fallback' });
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

// A Jetson as shipped: l4tbr0 (USB device mode, the same 192.168.55.1 everywhere) listed first,
// Docker and compose bridges, a container veth, the USB gadget links; the real uplink is eth0 or wlan0.
const jetson = {
  lo: [v4('127.0.0.1', true)],
  l4tbr0: [v4('192.168.55.1')],
  usb0: [v4('192.168.55.100')],
  rndis0: [v4('192.168.56.1')],
  docker0: [v4('172.17.0.1', false, '255.255.0.0')],
  'br-3f2a9c1d7e4b': [v4('172.18.0.1', false, '255.255.0.0')],
  veth1a2b3c4: [v4('169.254.10.1', false, '255.255.0.0')],
  virbr0: [v4('192.168.122.1')],
  cni0: [v4('10.88.0.1', false, '255.255.0.0')],
  podman1: [v4('10.89.0.1')],
  'flannel.1': [v4('10.244.0.0', false, '255.255.255.255')],
  eth0: [v6('fe80::1'), v4('10.20.30.40')],
  wlan0: [v4('192.168.1.23')],
};
const route = (iface: string, metric = 0, gateway?: string): DefaultRoute => ({
  iface,
  metric,
  ...(gateway ? { gateway } : {}),
});

describe('chooseInterfaceAddress (pure: interfaces + default routes)', () => {
  it.each<[string, Record<string, NetworkInterfaceInfo[] | undefined>, DefaultRoute[], string, string]>([
    ['default route via eth0', jetson, [route('eth0', 100, '10.20.30.1')], '10.20.30.40', 'default-route'],
    [
      'default route via wlan0',
      jetson,
      [route('wlan0', 600, '192.168.1.1')],
      '192.168.1.23',
      'default-route',
    ],
    [
      'lowest metric wins (eth0 100 over wlan0 600, listed second)',
      jetson,
      [route('wlan0', 600, '192.168.1.1'), route('eth0', 100, '10.20.30.1')],
      '10.20.30.40',
      'default-route',
    ],
    ['on-link default route (no gateway)', jetson, [route('wlan0')], '192.168.1.23', 'default-route'],
    [
      'a default route via usb0 (host tethering) is passed over',
      jetson,
      [route('usb0', 0, '192.168.55.100'), route('wlan0', 600, '192.168.1.1')],
      '192.168.1.23',
      'default-route',
    ],
    [
      'no default route: first private IPv4 of a non-bridge interface, not l4tbr0',
      jetson,
      [],
      '10.20.30.40',
      'private-fallback',
    ],
    [
      'default route only via excluded interfaces: fallback',
      jetson,
      [route('docker0'), route('l4tbr0')],
      '10.20.30.40',
      'private-fallback',
    ],
    [
      'default route interface without IPv4: fallback',
      { ...jetson, eth0: [v6('fe80::1')] },
      [route('eth0', 100, '10.20.30.1')],
      '192.168.1.23',
      'private-fallback',
    ],
    [
      'only bridges: loopback, never 192.168.55.1',
      { lo: jetson.lo, l4tbr0: jetson.l4tbr0, docker0: jetson.docker0, usb0: jetson.usb0 },
      [],
      '127.0.0.1',
      'loopback-fallback',
    ],
    [
      'the address whose subnet holds the gateway, on an interface with two',
      { eth0: [v4('10.9.0.5'), v4('10.20.30.40')] },
      [route('eth0', 0, '10.20.30.1')],
      '10.20.30.40',
      'default-route',
    ],
    [
      'a public address on the default route interface is taken',
      { l4tbr0: jetson.l4tbr0, eth0: [v4('203.0.113.9')] },
      [route('eth0', 0, '203.0.113.1')],
      '203.0.113.9',
      'default-route',
    ],
  ])('%s', (_name, ifs, routes, ip, reason) => {
    expect(chooseInterfaceAddress(ifs, routes)).toMatchObject({ ip, reason });
  });

  it('names the default routes it passed over', () => {
    const c = chooseInterfaceAddress(jetson, [route('usb0'), route('eth9'), route('wlan0', 600)]);
    expect(c).toMatchObject({ ip: '192.168.1.23', iface: 'wlan0', reason: 'default-route' });
    expect(c.skippedRoutes).toEqual(['usb0 (excluded)', 'eth9 (no IPv4)']);
  });

  it.each([
    ['l4tbr0', true],
    ['docker0', true],
    ['br-3f2a9c1d7e4b', true],
    ['veth1a2b3c4', true],
    ['usb0', true],
    ['usb1', true],
    ['rndis0', true],
    ['virbr0', true],
    ['cni0', true],
    ['podman0', true],
    ['flannel.1', true],
    ['cali1234', true],
    ['eth0', false],
    ['wlan0', false],
    ['enP8p1s0', false],
    ['eno1', false],
    ['wlP1p1s0', false],
    ['bridge0', false],
  ])('isExcludedInterface(%s) = %s', (name, excluded) => {
    expect(isExcludedInterface(name)).toBe(excluded);
  });
});

describe('route table parsing', () => {
  it('reads default routes from /proc/net/route (gateway in little-endian hex)', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth0\t00000000\t011E140A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'eth0\t001E140A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0',
      'l4tbr0\t0037A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'usb0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0',
      'wwan0\t00000000\t00000000\t0001\t0\t0\t700\t00000000\t0\t0\t0',
      'garbage',
      '',
    ].join('\n');
    expect(parseProcNetRoute(text)).toEqual([
      { iface: 'wlan0', metric: 600, gateway: '192.168.1.1' },
      { iface: 'eth0', metric: 100, gateway: '10.20.30.1' },
      { iface: 'wwan0', metric: 700 },
    ]);
  });

  it('reads default routes from `ip -4 route show default`', () => {
    const text = [
      'default via 10.20.30.1 dev eth0 proto dhcp src 10.20.30.40 metric 100',
      'default via 192.168.1.1 dev wlan0 proto dhcp metric 600',
      'default dev wwan0 scope link',
      '10.20.30.0/24 dev eth0 proto kernel scope link src 10.20.30.40',
    ].join('\n');
    expect(parseIpRouteDefault(text)).toEqual([
      { iface: 'eth0', metric: 100, gateway: '10.20.30.1' },
      { iface: 'wlan0', metric: 600, gateway: '192.168.1.1' },
      { iface: 'wwan0', metric: 0 },
    ]);
  });
});
