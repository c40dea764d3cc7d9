// Which of this host's IPv4 addresses to advertise when no address is set and the gossip socket binds
// the wildcard. memberlist's rule (net_transport.go FinalAdvertiseAddr → sockaddr.GetPrivateIP: the
// first private IPv4) is wrong on a Jetson: `l4tbr0` (the USB device-mode bridge, 192.168.55.1 on
// every Jetson), `docker0`, compose bridges, `veth*`, `usb*` and `rndis*` all carry private addresses,
// so every device would advertise the same unreachable one. Rule, in order:
//   1. the IPv4 of the interface of the default route (lowest metric first; on that interface the
//      address whose subnet holds the gateway), unless the interface is a virtual/USB one below;
//   2. the first private IPv4 (isPrivateIPv4) of an interface that is not excluded;
//   3. the first other non-loopback IPv4 of an interface that is not excluded;
//   4. 127.0.0.1 (a node alone on the device; other nodes cannot reach it, which the log says).
// Pure: the caller reads the interfaces (os.networkInterfaces) and routes (advertise-routes.ts).
import type { NetworkInterfaceInfo } from 'node:os';

export type Interfaces = Record<string, NetworkInterfaceInfo[] | undefined>;

/** A default route (destination 0.0.0.0/0) as the kernel lists it. */
export interface DefaultRoute {
  iface: string;
  /** Gateway IPv4, absent for an on-link default route (`default dev wlan0`). */
  gateway?: string;
  metric: number;
}

/**
 * Interfaces never advertised: bridges and links that exist on every device alike or only inside it.
 * l4tbr0, usb<n>, rndis<n>: the Jetson USB device-mode network (nv-l4t-usb-device-mode.sh); docker0, br-*:
 * Docker's default and compose bridges; veth*: container ends; virbr*: libvirt; cni*, podman*,
 * flannel*, cali*, cilium*, weave*, vxlan*, kube-*: container networking; lxcbr*, lxdbr*: LXC/LXD.
 */
const EXCLUDED_INTERFACE =
  /^(l4tbr|docker|br-|veth|usb|rndis|virbr|cni|podman|flannel|cali|cilium|weave|vxlan|kube-|lxcbr|lxdbr)/;

export const isExcludedInterface = (name: string): boolean => EXCLUDED_INTERFACE.test(name);

export const isPrivateIPv4 = (ip: string): boolean => {
  const [a = -1, b = -1] = ip.split('.').map(Number);
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
};

/** Why an address was chosen: stable codes, logged with the choice. */
export type AdvertiseReason =
  | 'explicit'
  | 'bind-address'
  | 'default-route'
  | 'private-fallback'
  | 'any-fallback'
  | 'loopback-fallback';

export interface InterfaceChoice {
  ip: string;
  /** The interface the address belongs to (absent for the loopback fallback). */
  iface?: string;
  reason: AdvertiseReason;
  /** Default routes passed over because their interface is excluded or has no IPv4. */
  skippedRoutes: string[];
}

const toInt = (ip: string): number => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** True when `ip` and `other` are in the same subnet under `netmask` (all dotted IPv4). */
const sameSubnet = (ip: string, netmask: string, other: string): boolean => {
  const mask = toInt(netmask);
  // Unsigned arithmetic: JavaScript's & is signed 32-bit, so compare through >>> 0.
  return (toInt(ip) & mask) >>> 0 === (toInt(other) & mask) >>> 0;
};

const ipv4Of = (list: NetworkInterfaceInfo[] | undefined): NetworkInterfaceInfo[] =>
  (list ?? []).filter((i) => i.family === 'IPv4' && !i.internal);

export function chooseInterfaceAddress(
  interfaces: Interfaces,
  routes: readonly DefaultRoute[],
): InterfaceChoice {
  const skippedRoutes: string[] = [];
  const byMetric = [...routes].sort((a, b) => a.metric - b.metric);
  for (const route of byMetric) {
    if (isExcludedInterface(route.iface)) {
      skippedRoutes.push(`${route.iface} (excluded)`);
      continue;
    }
    const addrs = ipv4Of(interfaces[route.iface]);
    const gw = route.gateway;
    const onLink = gw ? addrs.find((a) => sameSubnet(a.address, a.netmask, gw)) : undefined;
    const pick = onLink ?? addrs[0];
    if (pick) return { ip: pick.address, iface: route.iface, reason: 'default-route', skippedRoutes };
    skippedRoutes.push(`${route.iface} (no IPv4)`);
  }
  const candidates = Object.entries(interfaces)
    .filter(([name]) => !isExcludedInterface(name))
    .flatMap(([name, list]) => ipv4Of(list).map((i) => ({ iface: name, ip: i.address })));
  const priv = candidates.find((c) => isPrivateIPv4(c.ip));
  if (priv) return { ...priv, reason: 'private-fallback', skippedRoutes };
  const any = candidates[0];
  if (any) return { ...any, reason: 'any-fallback', skippedRoutes };
  return { ip: '127.0.0.1', reason: 'loopback-fallback', skippedRoutes };
}

/**
 * Default routes from /proc/net/route (tab-separated; Destination, Gateway and Mask in hex, host byte
 * order = little-endian on arm64 and x86; Flags bit 0x1 = RTF_UP). Header and malformed lines skipped.
 */
export function parseProcNetRoute(text: string): DefaultRoute[] {
  const out: DefaultRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flags, , , metric, mask] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (dest !== '00000000' || mask !== '00000000') continue;
    if ((Number.parseInt(flags, 16) & 0x1) === 0 || !/^[0-9A-Fa-f]{8}$/.test(gw)) continue;
    const n = Number.parseInt(gw, 16);
    const gateway = n === 0 ? undefined : [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
    out.push({ iface, metric: Number(metric) || 0, ...(gateway ? { gateway } : {}) });
  }
  return out;
}

/** Default routes from `ip -4 route show default` (`default via 10.0.0.1 dev eth0 proto dhcp metric 100`). */
export function parseIpRouteDefault(text: string): DefaultRoute[] {
  const out: DefaultRoute[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('default ')) continue;
    const dev = /\bdev (\S+)/.exec(line)?.[1];
    if (!dev) continue;
    const via = /\bvia (\d+\.\d+\.\d+\.\d+)/.exec(line)?.[1];
    const metric = Number(/\bmetric (\d+)/.exec(line)?.[1] ?? 0);
    out.push({ iface: dev, metric, ...(via ? { gateway: via } : {}) });
  }
  return out;
}
