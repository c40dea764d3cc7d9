// GPU facts from device nodes made with mknod (1,3) in a test folder standing in for /dev.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideGpuFact, detectGpuFact, gpuNodeKind, listGpuDeviceNodes } from '../src/gpu-devices.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'edgefleet-gpu-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dev = (name: string) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
};
const mknod = (path: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('mknod', ['-m', '0660', path, 'c', '1', '3']);
};

describe('GPU device nodes', () => {
  it('names: nvmap, nvhost-*, nvgpu/**, nvidia* are CUDA; dri/** is a render node; others are not GPU', () => {
    expect(['nvmap', 'nvhost-gpu', 'nvgpu/igpu0/ctrl', 'nvidia0', 'nvidiactl'].map(gpuNodeKind)).toEqual(
      Array(5).fill('cuda'),
    );
    expect(gpuNodeKind('dri/renderD128')).toBe('dri');
    expect(['null', 'nvmapx/a', 'video0', 'nvhost/x'].map(gpuNodeKind)).toEqual([null, null, null, null]);
  });

  it('lists only character devices with GPU names; regular files with those names do not count', async () => {
    const d = dev('mixed');
    mknod(join(d, 'nvmap'));
    mknod(join(d, 'nvgpu/igpu0/power'));
    mknod(join(d, 'dri/card0'));
    mknod(join(d, 'tty9'));
    writeFileSync(join(d, 'nvhost-fake'), 'not a device');
    const nodes = await listGpuDeviceNodes(d);
    expect(nodes.map((n) => [n.path.slice(d.length + 1), n.cuda, n.mode])).toEqual([
      ['dri/card0', false, 0o660],
      ['nvgpu/igpu0/power', true, 0o660],
      ['nvmap', true, 0o660],
    ]);
  });

  it('has a GPU: CUDA nodes, else the L4T release file, else the NVIDIA driver; EDGEFLEET_GPU wins', async () => {
    const empty = dev('empty');
    const noRelease = join(root, 'no-release');
    const procNone = dev('proc-none');
    expect(
      await detectGpuFact({ devRoot: empty, l4tReleaseFile: noRelease, procRoot: procNone }),
    ).toMatchObject({
      gpu: false,
    });
    const release = join(root, 'nv_tegra_release');
    writeFileSync(release, '# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic, EABI: aarch64\n');
    expect(
      await detectGpuFact({ devRoot: empty, l4tReleaseFile: release, procRoot: procNone }),
    ).toMatchObject({
      gpu: true,
      because: 'L4T release file (a Jetson)',
    });
    const proc = dev('proc');
    mkdirSync(join(proc, 'driver/nvidia/gpus/0000:01:00.0'), { recursive: true });
    expect(await detectGpuFact({ devRoot: empty, l4tReleaseFile: noRelease, procRoot: proc })).toMatchObject({
      gpu: true,
    });
    const renderOnly = dev('render-only');
    mknod(join(renderOnly, 'dri/renderD128'));
    expect(
      await detectGpuFact({ devRoot: renderOnly, l4tReleaseFile: noRelease, procRoot: procNone }),
    ).toMatchObject({ gpu: false });
    expect(decideGpuFact({ override: false, nodes: [], l4tRelease: true, nvidiaDriver: true })).toEqual({
      gpu: false,
      because: 'EDGEFLEET_GPU=false',
    });
  });
});
