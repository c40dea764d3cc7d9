// The data disk's reserve: ext4 reserved blocks, which only their owners may write into (fsuid ==
// resuid, a group == resgid, or CAP_SYS_RESOURCE: ext4_has_free_clusters in fs/ext4/balloc.c). Given
// to Redis's group (uid/gid 999 in docker/compose.yaml, a supplementary group of the services), it
// keeps room for Redis's AOF and rewrites that job code (its own uid, never in that group, no
// capabilities) can never eat, however fast it writes: the kernel answers ENOSPC at its edge.
//
// Read from statfs of the data folder (f_bfree − f_bavail: the blocks a plain writer may not use;
// on ext4 this also counts the filesystem's own small reserve, s_resv_clusters, at most 4096
// clusters) and from the mount's options in /proc/self/mountinfo (resgid=: ext4 shows it whenever
// it is not 0). Pure: the executor at start and `edgefleet doctor` read both and say the same line.

/** Redis's group in the images and docker/compose.yaml: the owner the reserve must have. */
export const RESERVE_GID = 999;

export interface MountFacts {
  /** Where it is mounted. */
  mountPoint: string;
  fsType: string;
  /** The device (e.g. /dev/nvme0n1p1). */
  source: string;
  /** Filesystem options (the mount's super options: `resgid=999`, ...). */
  options: string[];
}

export interface DiskReserveFacts {
  /** statfs of the data folder: block size, free blocks, blocks a plain writer may use. */
  bsize: number;
  bfree: number;
  bavail: number;
  /** The mount holding the data folder; absent when /proc/self/mountinfo could not be read. */
  mount?: MountFacts;
}

/** Bytes of the data disk a plain writer may not use (statfs f_bfree − f_bavail). */
export const reservedBytes = (f: DiskReserveFacts): number => Math.max(0, f.bfree - f.bavail) * f.bsize;

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The mount `path` (absolute, symlinks resolved) lives on: the longest mount point above it. */
export function mountOf(mountinfo: string, path: string): MountFacts | undefined {
  let best: MountFacts | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = unescapeOctal(line.slice(0, sep).split(' ')[4] ?? '');
    const [fsType = '', source = '', options = ''] = line.slice(sep + 3).split(' ');
    const under =
      mountPoint === '/' ||
      path === mountPoint ||
      path.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`);
    // Later lines are mounted over earlier ones at the same point.
    if (under && (!best || mountPoint.length >= best.mountPoint.length))
      best = { mountPoint, fsType, source: unescapeOctal(source), options: options.split(',') };
  }
  return best;
}

const mib = (b: number) => `${Math.floor(b / 1048576)} MiB`;

/** What is wrong with the reserve, and the fix (docker/README.md). */
export interface ReserveProblem {
  why: string;
  fix: string;
}

/**
 * Why the data disk's reserve does not keep room for Redis, with the fix, or null when at least
 * `wantBytes` are reserved for group `gid`.
 */
export function diskReserveProblem(
  dataDir: string,
  f: DiskReserveFacts,
  wantBytes: number,
  gid = RESERVE_GID,
): ReserveProblem | null {
  const m = f.mount;
  if (m && !m.fsType.startsWith('ext'))
    return {
      why: `${dataDir} is on ${m.fsType} (${m.source}): no reserved blocks for Redis`,
      fix: "put the data folder (and Redis's volume) on an ext4 filesystem",
    };
  const reserved = reservedBytes(f);
  const device = m?.source ?? '<device>';
  if (reserved < wantBytes)
    return {
      why: `${mib(reserved)} reserved on ${device}, less than ${mib(wantBytes)} (EDGEFLEET_DISK_RESERVE_MIB)`,
      fix: `tune2fs -r ${Math.ceil(wantBytes / f.bsize)} -g ${gid} ${device}, and mount it with resgid=${gid}`,
    };
  const resgid = Number(m?.options.find((o) => o.startsWith('resgid='))?.slice(7) ?? (m ? 0 : gid));
  if (resgid !== gid)
    return {
      why: `the ${mib(reserved)} reserved on ${device} belong to group ${resgid}, not Redis's ${gid}`,
      fix: `mount -o remount,resgid=${gid} <its mount point on the host>, and add resgid=${gid} to its /etc/fstab options`,
    };
  return null;
}
