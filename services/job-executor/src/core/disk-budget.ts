// While a job runs: may it keep writing? Two limits, checked together every few hundred ms by
// adapters/disk-guard.ts:
//   - its quota: bytes it wrote into its folder (output/ and tmp/) ≤ limits.outputMiB (device
//     default EDGEFLEET_DEFAULT_OUTPUT_MIB)                                  → OUTPUT_LIMIT
//   - the device reserve: free bytes on the data disk ≥ EDGEFLEET_MIN_FREE_DISK_BYTES, the room
//     kept for Redis (its AOF and rewrites share the disk) and for the job folders' own upload
//     bookkeeping; job output can never eat it                               → DISK_FULL
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
  return null;
}
