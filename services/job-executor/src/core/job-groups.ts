// Which supplementary groups job processes get: exactly the groups that own the GPU device nodes
// present on this device, plus the groups the operator names (EDGEFLEET_JOB_DEVICE_GROUPS, names or
// gids), and nothing else. On a Jetson the CUDA nodes (/dev/nvmap, /dev/nvhost-*, /dev/nvgpu/**) are
// root:video 0660, so without `video` cuInit fails; the launcher (process-runner.ts) passes this
// list to setgroups() before it drops to the job user.
//
// gid 0 is never given: a node owned by root's group grants nothing a job should have, and
// membership of group 0 opens every root:root 0660/0640 file on the host.

export interface JobGroupsInput {
  /** Owner groups of the GPU device nodes found at start (service-kit's listGpuDeviceNodes). */
  deviceNodes: readonly { path: string; gid: number }[];
  /** EDGEFLEET_JOB_DEVICE_GROUPS: group names or numeric gids. */
  extra: readonly string[];
  /** Group name → gid, from /etc/group. */
  groupIds: ReadonlyMap<string, number>;
}

export type JobGroups =
  | {
      ok: true;
      /** Sorted, unique, never 0. */
      gids: number[];
      /** Why each gid is given (device paths or "EDGEFLEET_JOB_DEVICE_GROUPS"). */
      sources: Record<number, string[]>;
      /** Device nodes skipped because root's group owns them. */
      skipped: string[];
    }
  | { ok: false; problem: string };

export function decideJobGroups(i: JobGroupsInput): JobGroups {
  const sources: Record<number, string[]> = {};
  const skipped: string[] = [];
  const add = (gid: number, why: string) => {
    const list = sources[gid] ?? [];
    list.push(why);
    sources[gid] = list;
  };
  for (const n of i.deviceNodes) {
    if (n.gid === 0) skipped.push(n.path);
    else add(n.gid, n.path);
  }
  for (const g of i.extra) {
    const gid = /^\d+$/.test(g) ? Number(g) : i.groupIds.get(g);
    if (gid === undefined)
      return { ok: false, problem: `EDGEFLEET_JOB_DEVICE_GROUPS: no group named ${JSON.stringify(g)}` };
    if (gid === 0)
      return { ok: false, problem: 'EDGEFLEET_JOB_DEVICE_GROUPS: group 0 (root) is never given to jobs' };
    if (gid > 0xfffffffe) return { ok: false, problem: `EDGEFLEET_JOB_DEVICE_GROUPS: gid ${g} out of range` };
    add(gid, 'EDGEFLEET_JOB_DEVICE_GROUPS');
  }
  const gids = Object.keys(sources)
    .map(Number)
    .sort((a, b) => a - b);
  return { ok: true, gids, sources, skipped };
}

/** Parses /etc/group text into name → gid. */
export function parseGroupFile(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name && gid !== undefined && /^\d+$/.test(gid)) out.set(name, Number(gid));
  }
  return out;
}
