// Our node meta from the static settings, the device's latest load (DeviceLoad from Redis) and the
// live device facts (tegrastats), fitted into memberlist's 512 bytes (fit-meta.ts).
import type { DeviceLoad, NodeMeta, NodeRole } from '@edgefleet/contracts';
import type { DeviceLabels } from './device-labels.js';
import { fitNodeMeta } from './fit-meta.js';

export interface StaticMeta {
  role: NodeRole;
  api?: string;
  version: string;
  labels: DeviceLabels;
}

export type HwFacts = NonNullable<NodeMeta['hw']>;

const MIB = 1024 * 1024;

export function buildNodeMeta(s: StaticMeta, load: DeviceLoad | undefined, hw?: HwFacts): NodeMeta {
  const meta: NodeMeta = { v: 1, role: s.role, ver: s.version, labels: { ...s.labels } };
  if (s.api) meta.api = s.api;
  if (load)
    meta.load = {
      running: load.running,
      queued: load.queued,
      freeDiskMiB: Math.floor(load.freeDiskBytes / MIB),
      at: load.updatedAt,
    };
  if (hw && Object.keys(hw).length > 0) meta.hw = { ...hw };
  return fitNodeMeta(meta);
}
