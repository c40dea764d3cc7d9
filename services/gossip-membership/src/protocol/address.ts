// Node addresses as the protocol core sees them: an IP (4 or 16 bytes, as memberlist's `Addr`
// fields carry it) and a port. memberlist identifies a peer by the (Addr, Port) it advertises; the
// UDP or TCP source of a packet is only used to answer a ping that carries no Source fields.
// IPv4 may arrive as 4 bytes or as 16-byte IPv4-mapped (::ffff:a.b.c.d, what Go's ParseIP gives);
// display and socket keys normalise; the member table compares raw bytes as Go does (docs/wire.md §2).

export interface Address {
  /** 4-byte IPv4 or 16-byte IPv6 / IPv4-mapped address. */
  addr: Uint8Array;
  port: number;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** 16-byte IPv4-mapped → 4 bytes; anything else unchanged. */
export function normaliseIp(ip: Uint8Array): Uint8Array {
  if (ip.length === 16 && V4_MAPPED_PREFIX.every((b, i) => ip[i] === b)) return ip.subarray(12);
  return ip;
}

/** Byte equality of two IPs after normalisation. */
export function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  const x = normaliseIp(a);
  const y = normaliseIp(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Text form of an IP like Go's net.IP.String(): dotted quad for IPv4 (and IPv4-mapped), RFC 5952
 * for IPv6 (lower-case hex, the longest run of two or more zero groups written as "::").
 */
export function ipString(ip: Uint8Array): string {
  const n = normaliseIp(ip);
  if (n.length === 4) return Array.from(n).join('.');
  const groups: number[] = [];
  for (let i = 0; i + 1 < n.length; i += 2) groups.push(((n[i] ?? 0) << 8) | (n[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j += 1;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** One decimal octet as Go's net.ParseIP takes it (0–255, no leading zero). */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** IPv6 text (with `::`, an IPv4 tail, a `%zone` that is dropped) → 16 bytes; undefined when malformed. */
function ipv6Bytes(ip: string): Uint8Array | undefined {
  const text = ip.replace(/%[^%]+$/, '');
  const v4tail = /^(.*:)([^:]*\.[^:]*)$/.exec(text);
  let groupsText = text;
  if (v4tail) {
    const tail = v4tail[2] as string;
    if (!IPV4.test(tail)) return undefined;
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    groupsText = `${v4tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = groupsText.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const head = split(halves[0] as string);
  const tail = halves.length === 2 ? split(halves[1] as string) : [];
  if (![...head, ...tail].every((g) => HEX_GROUP.test(g))) return undefined;
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? zeros : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/**
 * IP text → the 4-byte (IPv4) or 16-byte form memberlist carries in Addr fields; the inverse of
 * ipString. Throws on anything that is not an IP address (a host name is resolved by the caller).
 */
export function ipBytes(ip: string): Uint8Array {
  if (IPV4.test(ip)) return Uint8Array.from(ip.split('.').map(Number));
  const v6 = ipv6Bytes(ip);
  if (!v6) throw new Error(`not an IP address: ${ip}`);
  return v6;
}

/** A stable map key "ip:port" (IPv6 in brackets). */
export function addressKey(a: Address): string {
  const ip = ipString(a.addr);
  return ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`;
}
