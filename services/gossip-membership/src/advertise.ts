// The address we advertise to the cluster (memberlist NetTransport.FinalAdvertiseAddr): the --ip
// setting when given; otherwise the bind address; with a wildcard bind (0.0.0.0), the first private
// IPv4 of this host (RFC 1918, then RFC 6598 shared space), else the first non-loopback IPv4.
import type { NetworkInterfaceInfo } from 'node:os';

export const isPrivateIPv4 = (ip: string): boolean => {
  const [a = -1, b = -1] = ip.split('.').map(Number);
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
};

export type Interfaces = Record<string, NetworkInterfaceInfo[] | undefined>;

/** Returns the advertise IP, or an error line when none can be chosen. */
export function chooseAdvertiseAddr(
  bindAddr: string,
  advertiseAddr: string | undefined,
  interfaces: Interfaces,
): { ip: string } | { error: string } {
  if (advertiseAddr) return { ip: advertiseAddr };
  if (bindAddr !== '0.0.0.0' && bindAddr !== '::') return { ip: bindAddr };
  const v4 = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  const ip = v4.find(isPrivateIPv4) ?? v4[0];
  return ip
    ? { ip }
    : { error: 'no private IP address found to advertise; set --ip (EDGEFLEET_ADVERTISE_ADDR)' };
}
