// Watches a running job's disk use (core/disk-budget.ts decides): every `intervalMs` it sums the
// bytes allocated under the job's writable folders (lstat, no symlink followed, st_blocks × 512 so a
// sparse file counts what it really takes) and reads the data disk's free bytes (statfs). The first
// verdict is kept and `onVerdict` is called once; the caller stops the job.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type DiskBudget, type DiskVerdict, diskVerdict } from '../core/disk-budget.js';
import { freeDiskBytes } from './device-load.js';

/** Bytes allocated below `dir` (0 when it does not exist). */
async function allocatedBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await lstat(p).catch(() => null);
      if (!st) continue;
      total += Number(st.blocks) * 512;
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return total;
}

export interface DiskGuard {
  /** The verdict that stopped the job, if any. */
  readonly verdict: DiskVerdict | null;
  /** Checks now (also used once more after the run ends). */
  check(): Promise<DiskVerdict | null>;
  close(): void;
}

export function startDiskGuard(o: {
  dataDir: string;
  folders: readonly string[];
  budget: DiskBudget;
  intervalMs: number;
  onVerdict: (v: DiskVerdict) => void;
}): DiskGuard {
  let verdict: DiskVerdict | null = null;
  let busy = false;
  const check = async (): Promise<DiskVerdict | null> => {
    let jobBytes = 0;
    for (const f of o.folders) jobBytes += await allocatedBytes(f);
    const v = diskVerdict({ jobBytes, freeBytes: await freeDiskBytes(o.dataDir) }, o.budget);
    if (v && !verdict) {
      verdict = v;
      o.onVerdict(v);
    }
    return v;
  };
  const timer = setInterval(() => {
    if (busy || verdict) return;
    busy = true;
    void check()
      .catch(() => null)
      .finally(() => {
        busy = false;
      });
  }, o.intervalMs);
  timer.unref();
  return {
    get verdict() {
      return verdict;
    },
    check,
    close: () => clearInterval(timer),
  };
}
