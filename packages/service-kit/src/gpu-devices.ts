// GPU device nodes and the "has a GPU" fact of a device, shared by the executor (which groups job
// processes get), the receiver (which jobs it accepts) and `edgefleet doctor`.
//
// On a Jetson the integrated GPU is reached through /dev/nvmap, /dev/nvhost-* and /dev/nvgpu/**
// (L4T r35/r36), owned root:video 0660; discrete NVIDIA GPUs use /dev/nvidia*; other GPUs (and
// NVIDIA's DRM render nodes) appear under /dev/dri/**, usually root:render or root:video 0660.
// The device folder is a setting (EDGEFLEET_DEVICE_ROOT) so tests can point it at nodes they made
// with mknod.
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface GpuDeviceNode {
  /** Absolute path of the character device. */
  path: string;
  /** Owning group id (what job processes need as a supplementary group for a 0660 node). */
  gid: number;
  /** Permission bits (e.g. 0o660). */
  mode: number;
  /** True for NVIDIA CUDA nodes (nvmap, nvhost-*, nvgpu/**, nvidia*); false for dri/**. */
  cuda: boolean;
}

/** Which names under the device root are GPU nodes. `rel` uses '/' (e.g. `nvgpu/igpu0/ctrl`). */
export function gpuNodeKind(rel: string): 'cuda' | 'dri' | null {
  if (rel === 'nvmap' || /^nvhost-[^/]+$/.test(rel) || /^nvidia[^/]*$/.test(rel)) return 'cuda';
  if (rel.startsWith('nvgpu/')) return 'cuda';
  if (rel.startsWith('dri/')) return 'dri';
  return null;
}

async function walk(root: string, rel: string, depth: number, out: string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(root, rel));
  } catch {
    return;
  }
  for (const name of names.sort()) {
    const r = rel ? `${rel}/${name}` : name;
    // Top level: only the GPU names and the two GPU folders (never walk all of /dev).
    if (!rel && !gpuNodeKind(name) && name !== 'nvgpu' && name !== 'dri') continue;
    const st = await lstat(join(root, r)).catch(() => null);
    if (!st) continue;
    if (st.isDirectory() && depth < 3) await walk(root, r, depth + 1, out);
    else if (st.isCharacterDevice()) out.push(r);
  }
}

/** Lists the GPU character devices that exist under `devRoot` (default /dev), with owner group and mode. */
export async function listGpuDeviceNodes(devRoot = '/dev'): Promise<GpuDeviceNode[]> {
  const rels: string[] = [];
  await walk(devRoot, '', 0, rels);
  const out: GpuDeviceNode[] = [];
  for (const rel of rels) {
    const kind = gpuNodeKind(rel);
    if (!kind) continue;
    const st = await stat(join(devRoot, rel)).catch(() => null);
    if (!st) continue;
    out.push({ path: join(devRoot, rel), gid: st.gid, mode: st.mode & 0o7777, cuda: kind === 'cuda' });
  }
  return out;
}

export interface GpuFactInput {
  /** EDGEFLEET_GPU when set: the operator's word wins. */
  override?: boolean | undefined;
  nodes: readonly GpuDeviceNode[];
  /** `/etc/nv_tegra_release` exists: every Jetson module has an integrated CUDA GPU. */
  l4tRelease: boolean;
  /** Signs of the NVIDIA container runtime or driver (/proc/driver/nvidia/gpus/*). */
  nvidiaDriver: boolean;
}

export interface GpuFact {
  gpu: boolean;
  /** Why, for logs and `edgefleet doctor`. */
  because: string;
}

/** Decides whether this device has a CUDA GPU (pure). */
export function decideGpuFact(i: GpuFactInput): GpuFact {
  if (i.override !== undefined) return { gpu: i.override, because: `EDGEFLEET_GPU=${i.override}` };
  const cuda = i.nodes.filter((n) => n.cuda);
  if (cuda.length) return { gpu: true, because: `device nodes ${cuda.map((n) => n.path).join(', ')}` };
  if (i.l4tRelease) return { gpu: true, because: 'L4T release file (a Jetson)' };
  if (i.nvidiaDriver) return { gpu: true, because: 'NVIDIA driver (/proc/driver/nvidia/gpus)' };
  return { gpu: false, because: 'no NVIDIA device nodes, no L4T release, no NVIDIA driver' };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** Probes this device: GPU nodes under `devRoot`, the L4T release file and the NVIDIA driver. */
export async function detectGpuFact(
  o: { override?: boolean | undefined; devRoot?: string; l4tReleaseFile?: string; procRoot?: string } = {},
): Promise<GpuFact & { nodes: GpuDeviceNode[] }> {
  const nodes = await listGpuDeviceNodes(o.devRoot ?? '/dev');
  const gpus = await readdir(join(o.procRoot ?? '/proc', 'driver/nvidia/gpus')).catch(() => []);
  const fact = decideGpuFact({
    override: o.override,
    nodes,
    l4tRelease: await exists(o.l4tReleaseFile ?? '/etc/nv_tegra_release'),
    nvidiaDriver: gpus.length > 0,
  });
  return { ...fact, nodes };
}
