// Crash safety: what a job's run left on the device, in `<dataDir>/run/<jobId>.json`, written BEFORE the
// process is spawned (job id, uid, cgroup folders) and again once its pid (= pgid) is known. After a
// kill -9 of the executor, start-up reads every file and kills what is left (process group, cgroups,
// /proc scan by the job's environment marker and, for a dedicated job user, by uid) before any job is
// taken again, then removes the file. Written via a temporary file and rename (never half a file).
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const RunStateRecord = z.object({
  jobId: z.string(),
  pgid: z.number().int().optional(),
  uid: z.number().int().optional(),
  cgroupDirs: z.array(z.string()).default([]),
  startedAt: z.number().int(),
  /** The kernel's boot id when written: after a reboot no process of the run can be alive, and its
   *  pgid may belong to an unrelated process, so nothing is killed by pgid or uid then. */
  bootId: z.string().optional(),
});
export type RunStateRecord = z.infer<typeof RunStateRecord>;

/** This boot's id (Linux), or '' where unknown. */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

export class RunStateStore {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(resolve(dataDir), 'run');
  }

  private file(jobId: string) {
    return join(this.dir, `${jobId}.json`);
  }

  async write(rec: RunStateRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(rec.jobId)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ bootId: currentBootId(), ...rec }), { mode: 0o600 });
    await rename(tmp, this.file(rec.jobId));
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.file(jobId), { force: true });
  }

  /** Every record left behind (unreadable files are returned as bare job ids from their names). */
  async list(): Promise<RunStateRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: RunStateRecord[] = [];
    for (const n of names) {
      if (n.endsWith('.tmp')) {
        await rm(join(this.dir, n), { force: true });
        continue;
      }
      if (!n.endsWith('.json')) continue;
      const jobId = n.slice(0, -5);
      try {
        out.push(RunStateRecord.parse(JSON.parse(await readFile(join(this.dir, n), 'utf8'))));
      } catch {
        out.push({ jobId, cgroupDirs: [], startedAt: 0 });
      }
    }
    return out;
  }
}
