// cgroup v2, the only hierarchy on JetPack 6: the memory.max / pids.max / cgroup.kill path.
// A cgroup2 hierarchy is mounted in a private mount namespace (unshare -m) to see which controllers v2
// can have here; on a hybrid host (memory and pids bound to v1) it cannot have them, and the limit
// tests skip saying so. The file writes of the v2 path are checked against a real folder tree, and
// tracking + cgroup.kill against this machine's real cgroup2 hierarchy.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@edgefleet/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cgroupPids,
  createJobCgroup,
  detectCgroups,
  killCgroupDirs,
  removeCgroupDirs,
} from '../src/adapters/cgroup.js';

const scratch = mkdtempSync(join(tmpdir(), 'edgefleet-cg2-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Controllers a fresh cgroup2 mount offers, seen from a private mount namespace (nothing leaks out). */
function v2ControllersInPrivateNamespace(): { controllers: string[] } | { error: string } {
  const mnt = join(scratch, 'mnt');
  try {
    const out = execFileSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-ec',
        `mkdir -p ${mnt}; mount -t cgroup2 none ${mnt}; cat ${mnt}/cgroup.controllers`,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    return { controllers: out.split(/\s+/).filter(Boolean) };
  } catch (e) {
    return { error: ((e as { stderr?: string }).stderr ?? (e as Error).message).trim() };
  }
}

function v1Owner(controller: string): string | undefined {
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mnt, type, opts] = l.split(' ');
    if (type === 'cgroup' && opts?.split(',').includes(controller)) return mnt;
  }
  return undefined;
}

const probe = v2ControllersInPrivateNamespace();
const v2Limits =
  'controllers' in probe && probe.controllers.includes('memory') && probe.controllers.includes('pids');
const skipReason =
  'error' in probe
    ? `cannot mount cgroup2 in a private mount namespace: ${probe.error}`
    : `cgroup2 here offers [${probe.controllers.join(' ')}]: memory is bound to the v1 hierarchy at ${v1Owner('memory') ?? '?'} and pids at ${v1Owner('pids') ?? '?'}, and a controller can be attached to one hierarchy only, so v2 memory.max/pids.max cannot be exercised on this host`;

describe('cgroup v2', () => {
  it('a cgroup2 hierarchy mounts in a private mount namespace and lists its controllers', () => {
    expect(probe).toHaveProperty('controllers');
  });

  it('memory.max and pids.max through v2 (needs memory and pids on cgroup2)', async (ctx) => {
    if (!v2Limits) ctx.skip(skipReason);
    // A pure v2 host: the executor's own detection finds both controllers and applies them.
    const s = await detectCgroups();
    expect(s.v2).toMatchObject({ memory: true, pids: true });
    const cg = await createJobCgroup(s, `v2-limits-${process.pid}`, {
      memoryBytes: 64 * 1024 * 1024,
      pidsMax: 16,
    });
    try {
      expect(cg).toMatchObject({ memoryLimited: true, pidsLimited: true });
      const dir = cg!.dirs[0]!;
      expect(readFileSync(join(dir, 'memory.max'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      expect(readFileSync(join(dir, 'pids.max'), 'utf8').trim()).toBe('16');
    } finally {
      await removeCgroupDirs(cg?.dirs ?? []);
    }
  });

  it('the v2 path writes memory.max, memory.swap.max, pids.max and cgroup.kill (real folder tree)', async () => {
    const base = join(scratch, 'tree');
    execFileSync('mkdir', ['-p', base]);
    const cg = await createJobCgroup({ v2: { base, memory: true, pids: true }, summary: 'test' }, 'job-1', {
      memoryBytes: 128 * 1024 * 1024,
      pidsMax: 64,
    });
    expect(cg).toEqual({
      dirs: [join(base, 'job-1')],
      procsFiles: [join(base, 'job-1', 'cgroup.procs')],
      memoryLimited: true,
      pidsLimited: true,
    });
    const read = (f: string) => readFileSync(join(base, 'job-1', f), 'utf8');
    expect([read('memory.max'), read('memory.swap.max'), read('pids.max')]).toEqual([
      String(128 * 1024 * 1024),
      '0',
      '64',
    ]);
    await killCgroupDirs(cg!.dirs);
    expect(read('cgroup.kill')).toBe('1');
    // Without a memory limit, no memory file is written and the job is not reported as limited.
    const nolimit = await createJobCgroup(
      { v2: { base, memory: true, pids: false }, summary: 't' },
      'job-2',
      {
        pidsMax: 64,
      },
    );
    expect(nolimit).toMatchObject({ memoryLimited: false, pidsLimited: false });
    expect(existsSync(join(base, 'job-2', 'memory.max'))).toBe(false);
  });

  it('on the real cgroup2 hierarchy: a job cgroup tracks escaped processes and cgroup.kill ends them all', async (ctx) => {
    const s = await detectCgroups();
    if (!s.v2) ctx.skip(`no writable cgroup2 hierarchy here (${s.summary})`);
    const cg = await createJobCgroup(
      { ...s, v1Memory: undefined, v1Pids: undefined } as typeof s,
      `v2-kill-${process.pid}`,
      {
        pidsMax: 64,
      },
    );
    expect(cg).not.toBeNull();
    const procs = cg!.procsFiles[0]!;
    // Joins the cgroup first, then leaves three processes behind in new sessions (setsid escapes
    // the process group: only the cgroup still holds them).
    const child = spawn(
      'sh',
      ['-c', `echo $$ > ${procs}; for i in 1 2 3; do setsid sleep 300 & done; wait`],
      {
        stdio: 'ignore',
      },
    );
    await eventually(async () => (await cgroupPids(cg!.dirs)).length >= 4, {
      what: 'four processes in the job cgroup',
    });
    await killCgroupDirs(cg!.dirs);
    await eventually(async () => (await cgroupPids(cg!.dirs)).length === 0, {
      what: 'cgroup empty after cgroup.kill',
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r)));
    expect(child.signalCode).toBe('SIGKILL');
    await removeCgroupDirs(cg!.dirs);
    expect(existsSync(cg!.dirs[0]!)).toBe(false);
  });
});
