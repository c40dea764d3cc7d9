// Should this device take more jobs, given its data disk? The executor writes the disk's free bytes
// into the device load hash (job-executor's adapters/device-load.ts) every few seconds; below the
// intake watermark the receiver takes no job (SQS polling pauses, the HTTP API answers 503, /readyz
// shows `disk: false`), so jobs already here can finish and be uploaded before the executor has to
// end one DISK_FULL. An unknown or stale reading (no executor yet) does not block intake. Pure.

export interface DiskReading {
  /** Free bytes on the data disk, as last written by the executor. */
  freeBytes: number;
  /** When it was written, ms since the epoch. */
  at: number;
}

/** A reading older than this says nothing about the disk now, in ms. */
export const STALE_AFTER_MS = 60_000;

/** Null when intake may go on, else why not. */
export function intakeBlockedByDisk(
  r: DiskReading | undefined,
  minFreeBytes: number,
  now: number,
): string | null {
  if (!r || now - r.at > STALE_AFTER_MS || minFreeBytes === 0) return null;
  if (r.freeBytes >= minFreeBytes) return null;
  return `data disk has ${r.freeBytes} bytes free, below EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES=${minFreeBytes}`;
}
