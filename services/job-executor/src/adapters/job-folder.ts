// The job folder on disk: `<dataDir>/jobs/<jobId>/{work,output,logs}`, made fresh for every attempt.
//
// Nothing the executor writes may be redirected by a symlink: the folder is deleted and recreated
// (rm removes a planted symlink itself, never its target), every folder below it is made one segment
// at a time and checked with lstat to be a real folder, and files are created with
// O_CREAT|O_EXCL|O_NOFOLLOW under a temporary name, then renamed into place (rename replaces a name,
// it never follows one). Only `output/` belongs to the job user; the rest stays the service's.
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface JobDirs {
  root: string;
  work: string;
  output: string;
  logs: string;
  /** Partial downloads, renamed into `work/` when complete (same filesystem). */
  partial: string;
  /** The job's TMPDIR: inside the job folder, so it counts against the job's quota and goes with it. */
  tmp: string;
}

const jobDirsOf = (dataDir: string, jobId: string): JobDirs => {
  const root = join(resolve(dataDir), 'jobs', jobId);
  return {
    root,
    work: join(root, 'work'),
    output: join(root, 'output'),
    logs: join(root, 'logs'),
    partial: join(root, '.partial'),
    tmp: join(root, 'tmp'),
  };
};

class UnsafeFsError extends Error {
  readonly code = 'UNSAFE_PATH';
}

/** mkdir -p that refuses to pass through anything but real folders (no symlink, no file). */
export async function mkdirNoFollow(base: string, rel: string): Promise<string> {
  let cur = base;
  for (const seg of rel.split('/').filter(Boolean)) {
    cur = join(cur, seg);
    try {
      await mkdir(cur, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await lstat(cur);
    if (!st.isDirectory() || st.isSymbolicLink()) throw new UnsafeFsError(`${cur} is not a real folder`);
  }
  return cur;
}

/** Deletes whatever is at the job folder (a previous attempt, a planted symlink) and makes it afresh. */
export async function prepareJobFolder(
  dataDir: string,
  jobId: string,
  jobUser: { uid: number; gid: number; dedicated: boolean } | undefined,
): Promise<JobDirs> {
  const dirs = jobDirsOf(dataDir, jobId);
  const jobsDir = join(resolve(dataDir), 'jobs');
  await mkdir(jobsDir, { recursive: true, mode: 0o755 });
  const st = await lstat(jobsDir);
  if (!st.isDirectory()) throw new UnsafeFsError(`${jobsDir} is not a real folder`);
  await rm(dirs.root, { recursive: true, force: true });
  await mkdir(dirs.root, { mode: 0o755 });
  for (const d of [dirs.work, dirs.output, dirs.logs]) await mkdir(d, { mode: 0o755 });
  await mkdir(dirs.partial, { mode: 0o700 });
  await mkdir(dirs.tmp, { mode: 0o700 });
  if (jobUser?.dedicated) {
    await chown(dirs.output, jobUser.uid, jobUser.gid);
    await chown(dirs.tmp, jobUser.uid, jobUser.gid);
  }
  return dirs;
}

/** Makes sure output/ and logs/ exist (for results of attempts that never got that far). */
export async function ensureResultFolders(dataDir: string, jobId: string): Promise<JobDirs> {
  const dirs = jobDirsOf(dataDir, jobId);
  await mkdir(dirs.output, { recursive: true, mode: 0o755 });
  await mkdir(dirs.logs, { recursive: true, mode: 0o755 });
  return dirs;
}

/** Opens a new file for writing; fails if the name exists or is a symlink. */
export function createExclusive(path: string, mode = 0o644) {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}
