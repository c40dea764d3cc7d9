// Which addresses a webhook may connect to: a pure decision on a resolved IP address. A webhook is a
// request the device makes on a job author's behalf, and host names are only names: an allowlisted
// name (or a wildcard entry's subdomain) can resolve to the device itself, its LAN, or a cloud
// metadata service. So after resolving, every address in a range that is not the public internet is
// refused unless the operator listed that address (or its range) explicitly:
//   loopback 127.0.0.0/8 ::1, unspecified 0.0.0.0/8 ::, link-local 169.254.0.0/16 fe80::/10,
//   private 10/8 172.16/12 192.168/16, shared (CGNAT) 100.64/10, unique-local fc00::/7, site-local
//   fec0::/10, multicast 224.0.0.0/4 ff00::/8, reserved 240.0.0.0/4 (with broadcast), IETF protocol
//   assignments 192.0.0.0/24, benchmarking 198.18.0.0/15, IPv4-compatible ::/96.
// IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16) are judged by that IPv4 address.
import { BlockList, isIP } from 'node:net';

const RANGES: [string, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['benchmarking', '198.18.0.0', 15, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['ipv4-compatible', '::', 96, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['site-local', 'fec0::', 10, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const lists = new Map<string, BlockList>();
for (const [name, net, prefix, family] of RANGES) {
  const list = lists.get(name) ?? new BlockList();
  list.addSubnet(net, prefix, family);
  lists.set(name, list);
}

/** Parses an IPv6 address into 8 groups (no zone); undefined when it is not one. */
function groups6(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip.toLowerCase().split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text =
      text.slice(0, -(dotted[1] as string).length) +
      `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), or the address itself. */
export function effectiveAddress(ip: string): string {
  const g = groups6(ip);
  if (!g) return ip;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6] as number, g[7] as number); // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6] as number, g[7] as number); // NAT64
  if (g[0] === 0x2002) return v4(g[1] as number, g[2] as number); // 6to4
  return ip;
}

/** The name of the non-public range `ip` is in, or null for a public address. */
export function nonPublicRange(ip: string): string | null {
  const addr = effectiveAddress(ip);
  const family = isIP(addr) === 4 ? 'ipv4' : isIP(addr) === 6 ? 'ipv6' : undefined;
  if (!family) return 'not an address';
  if (family === 'ipv4' && addr === '255.255.255.255') return 'broadcast';
  for (const [name, list] of lists) if (list.check(addr, family)) return name;
  return null;
}

/** An operator's explicit entries: addresses or CIDR ranges (`10.1.2.3`, `10.1.0.0/16`, `fd00::/8`). */
export function explicitAddressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, prefix] = e.split('/') as [string, string | undefined];
    const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  return list;
}

/** True when `entry` is an IP address or CIDR range (for config validation). */
export function isAddressEntry(entry: string): boolean {
  const [addr, prefix, extra] = entry.split('/');
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export type AddressVerdict = { ok: true } | { ok: false; range: string };

/** May a webhook connect to `ip`? Public addresses yes; others only when listed explicitly. */
export function webhookAddressAllowed(ip: string, explicit: BlockList): AddressVerdict {
  const range = nonPublicRange(ip);
  if (range === null) return { ok: true };
  const addr = effectiveAddress(ip);
  const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
  if (explicit.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6') || explicit.check(addr, family))
    return { ok: true };
  return { ok: false, range };
}
