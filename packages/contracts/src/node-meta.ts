// Node meta: what a gossip-membership node tells the fleet about itself, carried in memberlist's
// `Meta` bytes of its alive messages (at most 512 bytes: memberlist's MetaMaxSize; Go nodes refuse to
// build a larger one and a larger alive cannot be gossiped in one 1400-byte UDP packet).
//
// Wire form: compact JSON (no spaces), UTF-8, e.g. ~170 bytes:
//   {"v":1,"role":"edge","api":"http://10.0.0.7:4100","ver":"0.1.0",
//    "labels":{"arch":"arm64","l4t":"35.4.1","gpu":"Orin"},"load":{"running":1,"queued":0,"freeDiskMiB":52110,"at":1764075000000}}
// With device facts (labels.board, hw) about 300 bytes; the gossip node drops the least important
// fields first when a meta would not fit (services/gossip-membership/src/meta/fit-meta.ts).
// Readers must ignore unknown keys (later versions may add some) and treat non-JSON meta (e.g. from
// plain Go memberlist nodes) as "no edgefleet meta".
import { z } from 'zod';

/** memberlist MetaMaxSize, bytes. */
export const NODE_META_MAX_BYTES = 512;

export const NodeRole = z.enum(['edge', 'server']);
export type NodeRole = z.infer<typeof NodeRole>;

export const NodeMeta = z.object({
  /** Format version of this object. */
  v: z.literal(1),
  role: NodeRole,
  /** Base URL of the node's job API (job-receiver), when it has one. */
  api: z.string().max(96).optional(),
  /** edgefleet software version. */
  ver: z.string().max(32),
  labels: z
    .object({
      /** CPU architecture as Node reports it (arm64, x64). */
      arch: z.string().max(32).optional(),
      /** Jetson Linux (L4T) release, e.g. 35.4.1; absent off Jetson. */
      l4t: z.string().max(32).optional(),
      /** GPU model name, absent when unknown. */
      gpu: z.string().max(48).optional(),
      /** Board model from the device tree (/proc/device-tree/model), e.g. NVIDIA Jetson AGX Orin Developer Kit. */
      board: z.string().max(80).optional(),
    })
    .default({}),
  /**
   * Live device facts sampled from `tegrastats` (and `nvpmodel -q`) every few seconds; absent on a
   * device without them. Each field is absent when not reported (never 0 for "unknown").
   */
  hw: z
    .object({
      /** GPU (GR3D) utilisation, percent of its current frequency. */
      gpuPct: z.number().int().min(0).max(100).optional(),
      /** Temperature in °C, one decimal: the GPU sensor, else the junction (tj). */
      tempC: z.number().min(-40).max(150).optional(),
      /** nvpmodel power mode name, e.g. MAXN, 15W. */
      power: z.string().max(24).optional(),
      /** RAM in use and total, MiB (tegrastats `RAM used/totalMB`). */
      ramMiB: z.number().int().min(0).optional(),
      ramTotalMiB: z.number().int().min(0).optional(),
    })
    .optional(),
  /** The device's load as the executor last wrote it (DeviceLoad); absent until known. */
  load: z
    .object({
      running: z.number().int().min(0),
      queued: z.number().int().min(0),
      /** Free disk in MiB (DeviceLoad.freeDiskBytes / 2^20, rounded down). */
      freeDiskMiB: z.number().int().min(0),
      /** When the executor wrote it, ms since the epoch. */
      at: z.number().int(),
    })
    .optional(),
});
export type NodeMeta = z.infer<typeof NodeMeta>;

export class NodeMetaTooLarge extends Error {
  readonly code = 'NODE_META_TOO_LARGE';
  constructor(readonly size: number) {
    super(`node meta is ${size} bytes, the limit is ${NODE_META_MAX_BYTES}`);
  }
}

/** Validates and encodes meta as compact JSON; throws NodeMetaTooLarge above 512 bytes. */
export function encodeNodeMeta(meta: NodeMeta): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(NodeMeta.parse(meta)));
  if (bytes.length > NODE_META_MAX_BYTES) throw new NodeMetaTooLarge(bytes.length);
  return bytes;
}

/** Decodes meta bytes from any node; undefined when they are not edgefleet meta (or are invalid). */
export function decodeNodeMeta(bytes: Uint8Array | null | undefined): NodeMeta | undefined {
  if (!bytes || bytes.length === 0 || bytes.length > NODE_META_MAX_BYTES || bytes[0] !== 0x7b)
    return undefined;
  try {
    const parsed = NodeMeta.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
