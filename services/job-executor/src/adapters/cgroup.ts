// Per-job cgroups: track every process of a job (a child that escapes its process group with setsid
// stays in its cgroup), kill them all at once, and apply the memory and process-count limits.
//
// cgroup v2 is preferred: `<root>/edgefleet/<jobId>` with memory.max, memory.swap.max = 0, pids.max
// (when the controllers can be enabled for our subtree) and cgroup.kill. On hybrid hosts whose v2
// hierarchy has no memory/pids controller (older Docker hosts), the v1 `memory` and `pids`
// hierarchies are used for the limits (memory.limit_in_bytes, pids.max), and v2 still tracks the job.
// Everything is best effort: a host without writable cgroups gives `null`, and the runner falls back
// to process groups, RLIMIT_NPROC and /proc scanning. Joining happens in the launcher, before the
// user's code runs (see process-runner.ts), so no fork can slip out between spawn and join.
import { constants } from 'node:fs';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupSupport {
  /** Folder under which v2 job cgroups are made, and the controllers enabled for them. */
  v2?: { base: string; memory: boolean; pids: boolean };
  /** v1 hierarchies' base folders used for the limits v2 cannot apply here. */
  v1Memory?: string;
  v1Pids?: string;
  /** Human-readable summary for the start-up log. */
  summary: string;
}

export interface JobCgroup {
  /** Every cgroup folder made for the job (recorded in the crash-recovery state file). */
  dirs: string[];
  /** `cgroup.procs` files the launcher writes its pid into. */
  procsFiles: string[];
  memoryLimited: boolean;
  pidsLimited: boolean;
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function tryWrite(path: string, value: string): Promise<boolean> {
  try {
    await writeFile(path, value);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Mount points from /proc/mounts: the cgroup2 one, and v1 ones by controller. */
async function mounts(): Promise<{ v2?: string; v1: Map<string, string> }> {
  const text = (await readText('/proc/mounts')) ?? '';
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const [, mnt, type, opts] = line.split(' ');
    if (!mnt || !opts) continue;
    if (type === 'cgroup2' && !v2) v2 = mnt;
    if (type === 'cgroup')
      for (const o of opts.split(',')) if (o === 'memory' || o === 'pids') v1.set(o, mnt);
  }
  return v2 ? { v2, v1 } : { v1 };
}

/** Finds what this host allows. `root` overrides the v2 base folder (EDGEFLEET_CGROUP_ROOT). */
export async function detectCgroups(
  opts: { root?: string; disabled?: boolean } = {},
): Promise<CgroupSupport> {
  if (opts.disabled) return { summary: 'disabled' };
  const m = await mounts();
  const out: CgroupSupport = { summary: '' };
  const notes: string[] = [];
  if (m.v2) {
    const base = opts.root ?? join(m.v2, 'edgefleet');
    try {
      await mkdir(base, { recursive: true });
      if (await writable(join(base, 'cgroup.procs'))) {
        // Enable controllers down to our base (works where the parent holds no processes).
        const parent = join(base, '..');
        const available = ((await readText(join(parent, 'cgroup.controllers'))) ?? '').split(/\s+/);
        for (const c of ['memory', 'pids'])
          if (available.includes(c)) {
            await tryWrite(join(parent, 'cgroup.subtree_control'), `+${c}`);
            await tryWrite(join(base, 'cgroup.subtree_control'), `+${c}`);
          }
        const enabled = ((await readText(join(base, 'cgroup.subtree_control'))) ?? '').split(/\s+/);
        out.v2 = { base, memory: enabled.includes('memory'), pids: enabled.includes('pids') };
        notes.push(
          `v2 at ${base} (memory ${out.v2.memory ? 'on' : 'off'}, pids ${out.v2.pids ? 'on' : 'off'})`,
        );
      }
    } catch {
      notes.push(`v2 at ${m.v2} not writable`);
    }
  }
  for (const c of ['memory', 'pids'] as const) {
    if (out.v2?.[c]) continue;
    const mnt = m.v1.get(c);
    if (!mnt) continue;
    const base = join(mnt, 'edgefleet');
    try {
      await mkdir(base, { recursive: true });
      if (!(await writable(join(base, 'cgroup.procs')))) continue;
      if (c === 'memory') out.v1Memory = base;
      else out.v1Pids = base;
      notes.push(`v1 ${c} at ${base}`);
    } catch {
      // not writable: no v1 limit for this controller
    }
  }
  out.summary = notes.join('; ') || 'no writable cgroups';
  return out;
}

/** Makes the job's cgroups and writes the limits. Leftovers of a previous attempt are removed first. */
export async function createJobCgroup(
  s: CgroupSupport,
  jobId: string,
  limits: { memoryBytes?: number | undefined; pidsMax: number },
): Promise<JobCgroup | null> {
  const cg: JobCgroup = { dirs: [], procsFiles: [], memoryLimited: false, pidsLimited: false };
  const make = async (base: string) => {
    const dir = join(base, jobId);
    await killCgroupDirs([dir]);
    await removeCgroupDirs([dir]);
    await mkdir(dir);
    cg.dirs.push(dir);
    cg.procsFiles.push(join(dir, 'cgroup.procs'));
    return dir;
  };
  try {
    if (s.v2) {
      const dir = await make(s.v2.base);
      if (s.v2.memory && limits.memoryBytes) {
        cg.memoryLimited = await tryWrite(join(dir, 'memory.max'), String(limits.memoryBytes));
        await tryWrite(join(dir, 'memory.swap.max'), '0');
      }
      if (s.v2.pids) cg.pidsLimited = await tryWrite(join(dir, 'pids.max'), String(limits.pidsMax));
    }
    if (s.v1Memory && limits.memoryBytes && !cg.memoryLimited) {
      const dir = await make(s.v1Memory);
      cg.memoryLimited = await tryWrite(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      await tryWrite(join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    }
    if (s.v1Pids && !cg.pidsLimited) {
      const dir = await make(s.v1Pids);
      cg.pidsLimited = await tryWrite(join(dir, 'pids.max'), String(limits.pidsMax));
    }
  } catch {
    await removeCgroupDirs(cg.dirs);
    return null;
  }
  return cg.dirs.length ? cg : null;
}

/** Pids in the given cgroup folders. */
export async function cgroupPids(dirs: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const d of dirs) {
    const text = await readText(join(d, 'cgroup.procs'));
    for (const l of (text ?? '').split('\n')) if (l.trim()) pids.add(Number(l));
  }
  return [...pids];
}

/** SIGKILLs everything in the folders (cgroup.kill where the kernel has it, else pid by pid). */
export async function killCgroupDirs(
  dirs: readonly string[],
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  for (const d of dirs) if (signal === 'SIGKILL') await tryWrite(join(d, 'cgroup.kill'), '1');
  for (const pid of await cgroupPids(dirs)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** True when the kernel counted an OOM kill in the job's memory cgroup. */
export async function cgroupOomKilled(dirs: readonly string[]): Promise<boolean> {
  for (const d of dirs) {
    for (const f of ['memory.events', 'memory.oom_control']) {
      const m = /oom_kill (\d+)/.exec((await readText(join(d, f))) ?? '');
      if (m && Number(m[1]) > 0) return true;
    }
  }
  return false;
}

/** Removes (empty) cgroup folders; a folder still holding processes stays. Never throws. */
export async function removeCgroupDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    for (let i = 0; i < 20; i++) {
      try {
        await rmdir(d);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}
