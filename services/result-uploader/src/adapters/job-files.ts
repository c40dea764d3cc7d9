// The files of a job folder to upload: everything below `output/` and `logs/`, walked without following
// symbolic links. Job code is untrusted: a symlink to /etc/shadow or to the device's credentials must
// not be uploaded, so only regular files are listed; the rest is reported as skipped (in the manifest).
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRelativePath, type SkippedFile } from '@edgefleet/contracts';

export interface LocalFile {
  /** Relative to the job folder, `/`-separated: `output/a/b.png`. */
  path: string;
  abs: string;
  size: number;
}

const UPLOADED_FOLDERS = ['output', 'logs'] as const;

/** Lists the files to upload. A missing `output/` or `logs/` is simply empty. */
export async function listJobFiles(jobDir: string): Promise<{ files: LocalFile[]; skipped: SkippedFile[] }> {
  const files: LocalFile[] = [];
  const skipped: SkippedFile[] = [];
  async function walk(rel: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(join(jobDir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    names.sort();
    for (const name of names) {
      const path = `${rel}/${name}`;
      const abs = join(jobDir, path);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) skipped.push({ path, why: 'SYMLINK' });
      else if (st.isDirectory()) await walk(path);
      else if (!st.isFile()) skipped.push({ path, why: 'NOT_A_FILE' });
      else if (checkRelativePath(path) !== null) skipped.push({ path, why: 'UNSAFE_NAME' });
      else files.push({ path, abs, size: st.size });
    }
  }
  for (const folder of UPLOADED_FOLDERS) {
    const st = await lstat(join(jobDir, folder)).catch(() => undefined);
    if (st?.isSymbolicLink()) skipped.push({ path: folder, why: 'SYMLINK' });
    else if (st?.isDirectory()) await walk(folder);
  }
  return { files, skipped };
}
