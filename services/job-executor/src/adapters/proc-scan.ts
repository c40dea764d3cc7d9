// Finding a job's processes without cgroups: scan /proc for processes whose environment carries the
// job's marker (`EDGEFLEET_JOB_ID=<id>`, set by the executor and inherited by every descendant, even one
// that called setsid) or, when the job user is dedicated to one job at a time, whose real uid is the
// job user's (a process that cleared its environment still has its uid). Zombies are skipped: they are
// already dead and only wait for their parent. Needs root (or the same uid) to read others' environ.
//
// A uid is not proof on its own: containers map uids one to one, so another container's process (a
// Redis image's uid 999) can carry the job user's uid. A uid match therefore counts only for a process
// that is provably on the executor's side: in the executor's pid namespace (a container has its own)
// and in the executor's own cgroups (what a job process without a job cgroup inherits; a container or
// another service lives in its own). A process in a job's cgroup is found through that cgroup
// (cgroup.ts), so it needs no uid match. Zombies have left their cgroups (procfs shows the root) and
// are matched by namespace only. Start-up refuses a job user whose uid has any process at all
// (foreignUidProcesses), so a uid match only ever meets processes started after that check.
// Reads are synchronous on purpose: procfs answers from memory, and one async round trip per file made
// a scan of ~150 processes take ~0.5 s instead of ~5 ms.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ScanMatch {
  jobId?: string;
  uid?: number;
  pgid?: number;
}

interface ProcInfo {
  pid: number;
  state: string;
  pgid: number;
  uid: number;
}

function info(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    return { pid, state: rest[0] ?? '?', pgid: Number(rest[2]), uid };
  } catch {
    return null;
  }
}

const readLink = (path: string): string | null => {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
};
const readText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** This process's pid namespace and cgroups (they never change while it runs). */
let self: { ns: string | null; cgroup: string | null } | undefined;
const selfIds = () => {
  self ??= { ns: readLink('/proc/self/ns/pid'), cgroup: readText('/proc/self/cgroup') };
  return self;
};

/** True when `pid` is in this process's pid namespace and (unless a zombie) its cgroups. */
function onOurSide(pid: number, zombie: boolean): boolean {
  const me = selfIds();
  const ns = readLink(`/proc/${pid}/ns/pid`);
  if (ns === null || ns !== me.ns) return false;
  return zombie || readText(`/proc/${pid}/cgroup`) === me.cgroup;
}

function hasMarker(pid: number, marker: Buffer): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`);
    for (let i = 0; i < env.length; ) {
      const end = env.indexOf(0, i);
      const stop = end < 0 ? env.length : end;
      if (stop - i === marker.length && env.subarray(i, stop).equals(marker)) return true;
      i = stop + 1;
    }
  } catch {
    // gone, or not readable
  }
  return false;
}

/** Live (non-zombie, unless asked) pids matching any of the criteria, never this process. */
export async function scanProcesses(
  match: ScanMatch,
  opts: { includeZombies?: boolean } = {},
): Promise<number[]> {
  const marker = match.jobId ? Buffer.from(`EDGEFLEET_JOB_ID=${match.jobId}`) : undefined;
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const pid = Number(n);
    if (pid === process.pid || pid === 1) continue;
    const p = info(pid);
    const zombie = p?.state === 'Z' || p?.state === 'X';
    if (!p || (!opts.includeZombies && zombie)) continue;
    if (
      (match.pgid !== undefined && p.pgid === match.pgid) ||
      (match.uid !== undefined && p.uid === match.uid && onOurSide(pid, zombie)) ||
      (marker && hasMarker(pid, marker))
    )
      out.push(pid);
  }
  return out;
}

export interface ForeignProcess {
  pid: number;
  command: string;
}

/**
 * Live processes whose real uid is `uid` (any namespace, any cgroup), with their command names. At
 * start-up, after the previous run's leftovers are killed, every one of them belongs to someone else.
 */
export function foreignUidProcesses(uid: number): ForeignProcess[] {
  const out: ForeignProcess[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const pid = Number(n);
    const p = info(pid);
    if (!p || p.uid !== uid || p.state === 'Z' || p.state === 'X') continue;
    out.push({ pid, command: (readText(`/proc/${pid}/comm`) ?? '?').trim() });
  }
  return out;
}
