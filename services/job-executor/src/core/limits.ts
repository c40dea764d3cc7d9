// A job's effective limits: the job's own values where given, else the device's defaults. Units are
// converted once here (seconds → ms, MiB → bytes) so adapters never guess.
import type { JobLimits } from '@edgefleet/contracts';

export interface DeviceDefaults {
  defaultTimeoutSeconds: number;
  defaultInstallTimeoutSeconds: number;
  /** 0 = no memory limit. */
  defaultMemoryMiB: number;
  /** Bytes a job may write into its folder when it gives no limits.outputMiB, in MiB. */
  defaultOutputMiB: number;
}

export interface EffectiveLimits {
  timeoutMs: number;
  installTimeoutMs: number;
  /** undefined = no memory limit. */
  memoryBytes: number | undefined;
  /** Quota of what the job writes into its folder (output/, tmp/), bytes. */
  outputBytes: number;
}

export function effectiveLimits(job: JobLimits, device: DeviceDefaults): EffectiveLimits {
  const mib = job.memoryMiB ?? device.defaultMemoryMiB;
  return {
    timeoutMs: (job.timeoutSeconds ?? device.defaultTimeoutSeconds) * 1000,
    installTimeoutMs: (job.installTimeoutSeconds ?? device.defaultInstallTimeoutSeconds) * 1000,
    memoryBytes: mib > 0 ? mib * 1024 * 1024 : undefined,
    outputBytes: (job.outputMiB ?? device.defaultOutputMiB) * 1024 * 1024,
  };
}

/**
 * Disk check before downloading: `free` must cover the inputs plus the reserve the device keeps
 * (`minFree`). Returns null when it does, else the detail for DISK_FULL.
 */
export function diskShortfall(freeBytes: number, neededBytes: number, minFreeBytes: number): string | null {
  if (freeBytes - neededBytes >= minFreeBytes) return null;
  return `${freeBytes} bytes free, ${neededBytes} needed for inputs plus a reserve of ${minFreeBytes}`;
}
