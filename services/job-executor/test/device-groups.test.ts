// GPU device groups for job code: real character devices made with mknod (1,3: /dev/null's numbers)
// in a test folder standing in for /dev, owned by groups this file creates, mode 0660. A real job run
// by the executor as the job user must open the GPU nodes, and only through exactly those groups.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listGpuDeviceNodes } from '@edgefleet/service-kit';
import { startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveJobGroups } from '../src/adapters/job-groups.js';
import { decideJobGroups, parseGroupFile } from '../src/core/job-groups.js';
import { type Harness, pyJob, startHarness } from './support/harness.js';

const GPU_GROUP = 'ef-test-gpu';
const OTHER_GROUP = 'ef-test-other';

function ensureGroup(name: string): number {
  try {
    execFileSync('groupadd', ['--system', name], { stdio: 'ignore' });
  } catch {
    // exists already (an earlier run, or a concurrent file)
  }
  return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
}

let dev: string;
let gpuGid: number;
let otherGid: number;
// GPU nodes as on a Jetson (L4T r36) plus a render node; `secret` is a non-GPU node of another group;
// `nvhost-root` is a GPU node owned by root's group, which jobs never get.
const GPU_NODES = ['nvmap', 'nvhost-ctrl-gpu', 'nvgpu/igpu0/ctrl', 'dri/renderD128'];

function mknod(rel: string, gid: number): void {
  const path = join(dev, rel);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
  execFileSync('mknod', ['-m', '0660', path, 'c', '1', '3']);
  chownSync(path, 0, gid);
  chmodSync(path, 0o660);
}

let h: Harness;
beforeAll(async () => {
  gpuGid = ensureGroup(GPU_GROUP);
  otherGid = ensureGroup(OTHER_GROUP);
  dev = mkdtempSync(join(tmpdir(), 'edgefleet-dev-'));
  chmodSync(dev, 0o755);
  for (const rel of GPU_NODES) mknod(rel, gpuGid);
  mknod('secret', otherGid);
  mknod('nvhost-root', 0);
  // The executor looks for GPU nodes under EDGEFLEET_DEVICE_ROOT, as it does under /dev.
  h = await startHarness({ user: 'ef-exec-gpu', settings: { deviceRoot: dev } });
});
afterAll(async () => {
  await h?.stop();
  rmSync(dev, { recursive: true, force: true });
});

const PROBE = (paths: string[]) =>
  [
    'import json, os',
    'res = {}',
    `for p in ${JSON.stringify(paths)}:`,
    '    try:',
    '        os.close(os.open(p, os.O_RDWR)); res[p] = "ok"',
    '    except OSError as e:',
    '        res[p] = e.strerror',
    'res["groups"] = sorted(os.getgroups())',
    'res["uid"] = os.getuid()',
    'open(os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "probe.json"), "w").write(json.dumps(res))',
  ].join('\n');

describe('GPU device groups', () => {
  it('finds the GPU nodes by stat and gives exactly their owner group (never root, never others)', async () => {
    const nodes = await listGpuDeviceNodes(dev);
    expect(nodes.map((n) => n.path.slice(dev.length + 1)).sort()).toEqual(
      [...GPU_NODES, 'nvhost-root'].sort(),
    );
    expect(nodes.find((n) => n.path.endsWith('nvmap'))).toMatchObject({
      gid: gpuGid,
      mode: 0o660,
      cuda: true,
    });
    expect(nodes.find((n) => n.path.endsWith('renderD128'))).toMatchObject({ cuda: false });
    const g = await resolveJobGroups({ devRoot: dev, extra: [] });
    expect(g).toMatchObject({ ok: true, gids: [gpuGid], skipped: [join(dev, 'nvhost-root')] });
  });

  it('a real job as the job user opens the GPU nodes; a node of an unlisted group stays unreadable', async () => {
    const paths = [...GPU_NODES, 'secret', 'nvhost-root'].map((r) => join(dev, r));
    await pyJob(h, 'gpu-groups', PROBE(paths));
    const r = await h.terminal('gpu-groups');
    expect(r.state).toBe('SUCCEEDED');
    const probe = JSON.parse(await readFile(join(r.jobDir!, 'output', 'probe.json'), 'utf8'));
    for (const rel of GPU_NODES) expect(probe[join(dev, rel)], rel).toBe('ok');
    expect(probe[join(dev, 'secret')]).toBe('Permission denied');
    expect(probe[join(dev, 'nvhost-root')]).toBe('Permission denied');
    expect(probe.uid).toBe(h.jobUser.uid);
    // Exactly the device group (plus the job user's own primary group, which setgid makes current).
    expect(probe.groups.filter((g: number) => g !== h.jobUser.gid)).toEqual([gpuGid]);
  });

  it('EDGEFLEET_JOB_DEVICE_GROUPS adds groups by name or gid; unknown names and root are refused', async () => {
    const groupIds = parseGroupFile(await readFile('/etc/group', 'utf8'));
    expect(groupIds.get(OTHER_GROUP)).toBe(otherGid);
    const nodes = [{ path: '/dev/nvmap', gid: gpuGid }];
    expect(decideJobGroups({ deviceNodes: nodes, extra: [OTHER_GROUP, '4242'], groupIds })).toMatchObject({
      ok: true,
      gids: [gpuGid, otherGid, 4242].sort((a, b) => a - b),
    });
    expect(decideJobGroups({ deviceNodes: nodes, extra: ['no-such-group-xyz'], groupIds })).toEqual({
      ok: false,
      problem: 'EDGEFLEET_JOB_DEVICE_GROUPS: no group named "no-such-group-xyz"',
    });
    expect(decideJobGroups({ deviceNodes: nodes, extra: ['root'], groupIds }).ok).toBe(false);
    expect(decideJobGroups({ deviceNodes: nodes, extra: ['0'], groupIds }).ok).toBe(false);
  });

  it('with no GPU nodes and nothing named, jobs get no supplementary group', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'edgefleet-dev-empty-'));
    try {
      expect(await resolveJobGroups({ devRoot: empty, extra: [] })).toMatchObject({ ok: true, gids: [] });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  // examples/gpu-check through a real executor run: this machine has no NVIDIA driver (no libcuda).
  const hasLibcuda = (() => {
    try {
      return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libcuda.so');
    } catch {
      return false;
    }
  })();
  it.skipIf(hasLibcuda)('examples/gpu-check ends SUCCEEDED saying no GPU is present', async () => {
    const code = await readFile(
      fileURLToPath(new URL('../../../examples/gpu-check/main.py', import.meta.url)),
    );
    await pyJob(h, 'gpu-check', code.toString('utf8'));
    const r = await h.terminal('gpu-check');
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect(await readFile(join(r.jobDir!, 'logs', 'stdout.log'), 'utf8')).toMatch(/^no GPU present/);
    const report = JSON.parse(await readFile(join(r.jobDir!, 'output', 'gpu.json'), 'utf8'));
    expect(report).toMatchObject({ gpu: false });
    expect(report.groups.filter((g: number) => g !== h.jobUser.gid)).toEqual([gpuGid]);
  });

  it('the service refuses to start on an unknown EDGEFLEET_JOB_DEVICE_GROUPS entry, naming the variable', async () => {
    const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const p = startServiceProcess(entry, {
      env: {
        EDGEFLEET_DATA_DIR: h.dataDir,
        EDGEFLEET_JOB_USER: 'ef-exec-gpu',
        EDGEFLEET_DEVICE_ROOT: dev,
        EDGEFLEET_JOB_DEVICE_GROUPS: 'no-such-group-xyz',
        EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:1',
      },
    });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/EDGEFLEET_JOB_DEVICE_GROUPS: no group named \\?"no-such-group-xyz\\?"/);
  });
});
