// The device labels carried in node meta (arch, L4T release, GPU). Read once at start from the files
// JetPack installs; settings (EDGEFLEET_ARCH, EDGEFLEET_L4T_VERSION, EDGEFLEET_GPU) override them.
import { readFileSync } from 'node:fs';

export interface DeviceLabels {
  arch?: string;
  l4t?: string;
  gpu?: string;
}

/**
 * `/etc/nv_tegra_release` first line, e.g. `# R35 (release), REVISION: 4.1, GCID: …` → `35.4.1`.
 * Undefined when the line does not have that shape.
 */
export function parseL4tRelease(text: string): string | undefined {
  const m = /^#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)\.(\d+)/m.exec(text);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

/** `/proc/device-tree/model` (NUL-terminated), e.g. `NVIDIA Jetson AGX Orin Developer Kit` → `Jetson AGX Orin`. */
export function parseGpuModel(model: string): string | undefined {
  const clean = model.replace(/\0/g, '').trim();
  const m = /(Jetson[\w -]*?)(?:\s+Developer Kit|$)/.exec(clean);
  return m ? (m[1] as string).trim().slice(0, 48) : undefined;
}

const readOr = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Labels of this host; settings given win over detection. */
export function detectDeviceLabels(overrides: DeviceLabels = {}): DeviceLabels {
  const l4tText = readOr('/etc/nv_tegra_release');
  const model = readOr('/proc/device-tree/model');
  const out: DeviceLabels = { arch: overrides.arch ?? process.arch };
  const l4t = overrides.l4t ?? (l4tText ? parseL4tRelease(l4tText) : undefined);
  const gpu = overrides.gpu ?? (model ? parseGpuModel(model) : undefined);
  if (l4t) out.l4t = l4t;
  if (gpu) out.gpu = gpu;
  return out;
}
