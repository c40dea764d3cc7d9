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

/** A stable map key "ip:port" (IPv6 in brackets). */
export function addressKey(a: Address): string {
  const ip = ipString(a.addr);
  return ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`;
}
