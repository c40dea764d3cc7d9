// While a job runs: may it keep writing? Two limits, checked together every few hundred ms by
// adapters/disk-guard.ts:
//   - its quota: bytes it wrote into its folder (output/ and tmp/) ≤ limits.outputMiB (device
//     default EDGEFLEET_DEFAULT_OUTPUT_MIB)                                  → OUTPUT_LIMIT
//   - the device reserve: free bytes on the data disk ≥ EDGEFLEET_MIN_FREE_DISK_BYTES, the room
//     kept for Redis (its AOF and rewrites share the disk) and for the job folders' own upload
//     bookkeeping                                                            → DISK_FULL
// A sample every few hundred ms cannot stop a fast writer in between: the guarantee is the
// filesystem's reserved blocks (docker/README.md), which job code can never write into. "Free" is
// statfs f_bavail, what an unprivileged writer may still use: once it is (nearly) 0 the job has hit
// the reserve's edge and got ENOSPC, and the disk is full for it whatever the setting → DISK_FULL.
// Pure.
import type { ReasonCode } from '@edgefleet/contracts';

export interface DiskFacts {
  /** Bytes the job has written into its folder (output/ and tmp/). */
  jobBytes: number;
  /** Free bytes on the data disk. */
  freeBytes: number;
}

export interface DiskBudget {
  quotaBytes: number;
  reserveBytes: number;
}

/**
 * Below this many bytes available to job code the disk is full for it, even with no configured
 * reserve: ext4 refuses an unprivileged write while f_bavail still shows a few hundred KiB (near
 * the edge it stops delaying allocation, ext4_nonda_switch in fs/ext4/inode.c, and allocates in
 * normalised chunks, fs/ext4/mballoc.c).
 */
export const FULL_BELOW_BYTES = 4 * 1048576;

export type DiskVerdict = { reason: Extract<ReasonCode, 'OUTPUT_LIMIT' | 'DISK_FULL'>; detail: string };

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function diskVerdict(f: DiskFacts, b: DiskBudget): DiskVerdict | null {
  if (f.jobBytes > b.quotaBytes)
    return {
      reason: 'OUTPUT_LIMIT',
      detail: `wrote ${mib(f.jobBytes)} into its folder, more than its quota of ${mib(b.quotaBytes)} (limits.outputMiB)`,
    };
  if (f.freeBytes < b.reserveBytes)
    return {
      reason: 'DISK_FULL',
      detail: `${mib(f.freeBytes)} free on the data disk, below the reserve of ${mib(b.reserveBytes)} (EDGEFLEET_MIN_FREE_DISK_BYTES)`,
    };
  if (f.freeBytes < FULL_BELOW_BYTES)
    return {
      reason: 'DISK_FULL',
      detail: `${mib(f.freeBytes)} left for job output on the data disk: full (the rest is the filesystem's reserve)`,
    };
  return null;
}
