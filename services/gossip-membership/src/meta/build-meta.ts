// Our node meta from the static settings and the device's latest load (DeviceLoad from Redis).
import type { DeviceLoad, NodeMeta, NodeRole } from '@edgefleet/contracts';
import type { DeviceLabels } from './device-labels.js';

export interface StaticMeta {
  role: NodeRole;
  api?: string;
  version: string;
  labels: DeviceLabels;
}

const MIB = 1024 * 1024;

export function buildNodeMeta(s: StaticMeta, load: DeviceLoad | undefined): NodeMeta {
  const meta: NodeMeta = { v: 1, role: s.role, ver: s.version, labels: { ...s.labels } };
  if (s.api) meta.api = s.api;
  if (load)
    meta.load = {
      running: load.running,
      queued: load.queued,
      freeDiskMiB: Math.floor(load.freeDiskBytes / MIB),
      at: load.updatedAt,
    };
  return meta;
}
