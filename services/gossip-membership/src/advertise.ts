// The address we advertise to the cluster (memberlist NetTransport.FinalAdvertiseAddr): the --ip
// setting when given; otherwise the bind address; with a wildcard bind (0.0.0.0), the IPv4 of the
// default route's interface, never a USB/container bridge (advertise-interface.ts has the rule).
import {
  type AdvertiseReason,
  chooseInterfaceAddress,
  type DefaultRoute,
  type Interfaces,
} from './advertise-interface.js';

export { type Interfaces, isPrivateIPv4 } from './advertise-interface.js';

export interface AdvertiseChoice {
  ip: string;
  reason: AdvertiseReason;
  iface?: string;
  skippedRoutes?: string[];
}

/** The advertise IP and why it was chosen. */
export function chooseAdvertiseAddr(
  bindAddr: string,
  advertiseAddr: string | undefined,
  interfaces: Interfaces,
  routes: readonly DefaultRoute[] = [],
): AdvertiseChoice {
  if (advertiseAddr) return { ip: advertiseAddr, reason: 'explicit' };
  if (bindAddr !== '0.0.0.0' && bindAddr !== '::') return { ip: bindAddr, reason: 'bind-address' };
  return chooseInterfaceAddress(interfaces, routes);
}

/** One log line's worth of text for each reason. */
export const ADVERTISE_REASON_TEXT: Record<AdvertiseReason, string> = {
  explicit: 'set by --ip (EDGEFLEET_ADVERTISE_ADDR)',
  'bind-address': 'the gossip bind address (--bind)',
  'default-route': "the default route's interface",
  'private-fallback': 'no usable default route: first private IPv4 of a non-bridge interface',
  'any-fallback': 'no usable default route and no private IPv4: first IPv4 of a non-bridge interface',
  'loopback-fallback':
    'no usable interface: loopback, other nodes cannot reach this one; set --ip (EDGEFLEET_ADVERTISE_ADDR)',
};
