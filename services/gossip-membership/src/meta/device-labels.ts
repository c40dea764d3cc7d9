// The device labels carried in node meta (arch, L4T release, GPU, board model). Read once at start
// from the files JetPack installs (paths settable: EDGEFLEET_L4T_RELEASE_FILE and
// EDGEFLEET_DEVICE_MODEL_FILE, for containers that mount them read-only elsewhere); settings
// (EDGEFLEET_ARCH, EDGEFLEET_L4T_VERSION, EDGEFLEET_GPU) override what is detected.
import { readFileSync } from 'node:fs';

export interface DeviceLabels {
  arch?: string;
  l4t?: string;
  gpu?: string;
  board?: string;
}

export interface DeviceFilePaths {
  /** Default /etc/nv_tegra_release. */
  l4tReleaseFile?: string;
  /** Default /proc/device-tree/model. */
  modelFile?: string;
}

/** Longest board model carried (the NodeMeta schema's limit), characters. */
const BOARD_MAX_CHARS = 80;

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

/**
 * `/proc/device-tree/model` as text: NUL-terminated, e.g. `NVIDIA Jetson AGX Orin Developer Kit\0`.
 * Control characters dropped, whitespace collapsed, cut to BOARD_MAX_CHARS; undefined when empty.
 */
export function parseBoardModel(model: string): string | undefined {
  const clean = model
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean ? [...clean].slice(0, BOARD_MAX_CHARS).join('').trim() : undefined;
}

const readOr = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Labels of this host; settings given win over detection. */
export function detectDeviceLabels(overrides: DeviceLabels = {}, paths: DeviceFilePaths = {}): DeviceLabels {
  const l4tText = readOr(paths.l4tReleaseFile ?? '/etc/nv_tegra_release');
  const model = readOr(paths.modelFile ?? '/proc/device-tree/model');
  const out: DeviceLabels = { arch: overrides.arch ?? process.arch };
  const l4t = overrides.l4t ?? (l4tText ? parseL4tRelease(l4tText) : undefined);
  const gpu = overrides.gpu ?? (model ? parseGpuModel(model) : undefined);
  if (l4t) out.l4t = l4t;
  if (gpu) out.gpu = gpu;
  const board = model ? parseBoardModel(model) : undefined;
  if (board) out.board = board;
  return out;
}
