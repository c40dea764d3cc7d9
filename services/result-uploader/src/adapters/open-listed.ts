// Opening a file root listed in a tree the job user can write (output/): between the listing (lstat)
// and the open, a job-user process may swap the file, or any folder on its path, for a symlink (to the
// uploader's own /proc/self/environ, to /etc/shadow). O_NOFOLLOW guards only the last component, so
// the opened descriptor itself is checked: /proc/self/fd/<fd> names the file actually opened, after
// every link was resolved; it must be the listed path, a regular file, the listed inode. Anything
// else is refused (UnsafeListedFile) and the file is not read.
import { constants } from 'node:fs';
import { type FileHandle, open, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';

export class UnsafeListedFile extends Error {
  readonly code = 'UNSAFE_FILE';
  /** A local file error (core/classify.ts): never retried. */
  readonly syscall = 'open';
}

/** Opens `abs` for reading, only if it is still the regular file that was listed (`ino` when known). */
export async function openListedFile(
  abs: string,
  listed?: { ino?: number; dev?: number },
): Promise<FileHandle> {
  const expected = resolve(abs);
  const fh = await open(expected, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    const actual = await readlink(`/proc/self/fd/${fh.fd}`);
    if (actual !== expected)
      throw new UnsafeListedFile(`${abs} resolved to another file while it was opened`);
    if (!st.isFile()) throw new UnsafeListedFile(`${abs} is no longer a regular file`);
    if (listed?.ino !== undefined && (st.ino !== listed.ino || st.dev !== listed.dev))
      throw new UnsafeListedFile(`${abs} was replaced after it was listed`);
    return fh;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}
