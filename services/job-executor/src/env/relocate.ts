// Moving a finished virtualenv from its build folder to its cache folder.
//
// We build in `.building/<key>-<random>` and rename into place (the rename is the atomic commit, and
// a crashed build never looks like an environment). A venv embeds its own absolute path in a few text
// files: console-script shebangs (`#!<venv>/bin/python`), the activate scripts (VIRTUAL_ENV=…) and
// pyvenv.cfg's informational `command` line. `bin/python` itself is a symlink to the base interpreter
// and finds its venv through the pyvenv.cfg next to it, so it works from any path; the text files are
// rewritten to the final path *before* the rename, so the environment is correct the moment it appears.
//
// This runs as root after sealEnvironment (seal.ts) made the tree root-owned: every file is still
// opened with O_NOFOLLOW and checked (fstat) against what was listed, read and rewritten through
// that one descriptor, so a name swapped for a link never sends the write elsewhere.
import { constants } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openListed } from './seal.js';

/** Text files larger than this (bytes) are not scripts and are left alone. */
const MAX_SCRIPT_BYTES = 1024 * 1024;

export async function rewriteVenvPaths(buildDir: string, finalDir: string): Promise<number> {
  let changed = 0;
  const targets = [join(buildDir, 'pyvenv.cfg')];
  const bin = await lstat(join(buildDir, 'bin')).catch(() => null);
  if (bin?.isDirectory())
    for (const e of await readdir(join(buildDir, 'bin')).catch(() => [] as string[]))
      targets.push(join(buildDir, 'bin', e));
  for (const file of targets) {
    const st = await lstat(file).catch(() => null);
    if (st === null || !st.isFile() || st.size > MAX_SCRIPT_BYTES) continue;
    // A second name elsewhere would make this write land outside the environment too.
    if (st.nlink !== 1) continue;
    const fh = await openListed(file, st, constants.O_RDWR);
    try {
      const buf = await fh.readFile();
      if (buf.includes(0)) continue; // binary
      const text = buf.toString('utf8');
      if (!text.includes(buildDir)) continue;
      const out = Buffer.from(text.split(buildDir).join(finalDir));
      await fh.truncate(0);
      await fh.write(out, 0, out.length, 0);
      changed++;
    } finally {
      await fh.close();
    }
  }
  return changed;
}
