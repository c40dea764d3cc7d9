// Moving a finished virtualenv from its build folder to its cache folder.
//
// We build in `.building/<key>-<random>` and rename into place (the rename is the atomic commit, and
// a crashed build never looks like an environment). A venv embeds its own absolute path in a few text
// files: console-script shebangs (`#!<venv>/bin/python`), the activate scripts (VIRTUAL_ENV=…) and
// pyvenv.cfg's informational `command` line. `bin/python` itself is a symlink to the base interpreter
// and finds its venv through the pyvenv.cfg next to it, so it works from any path; the text files are
// rewritten to the final path *before* the rename, so the environment is correct the moment it appears.
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Text files larger than this (bytes) are not scripts and are left alone. */
const MAX_SCRIPT_BYTES = 1024 * 1024;

export async function rewriteVenvPaths(buildDir: string, finalDir: string): Promise<number> {
  let changed = 0;
  const targets = [join(buildDir, 'pyvenv.cfg')];
  for (const e of await readdir(join(buildDir, 'bin')).catch(() => [] as string[]))
    targets.push(join(buildDir, 'bin', e));
  for (const file of targets) {
    const st = await lstat(file).catch(() => null);
    if (st === null || !st.isFile() || st.size > MAX_SCRIPT_BYTES) continue;
    const buf = await readFile(file);
    if (buf.includes(0)) continue; // binary
    const text = buf.toString('utf8');
    if (!text.includes(buildDir)) continue;
    await writeFile(file, text.split(buildDir).join(finalDir));
    changed++;
  }
  return changed;
}
