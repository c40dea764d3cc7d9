// What the workspace contributes to an environment: the Python distributions shipped with the job
// (wheels and sdists, anywhere in the workspace), the folders pip should search for them
// (--find-links), and content hashes of local paths a requirement names (`./mylib`).
//
// Symbolic links are never followed: a link could make pip read a file elsewhere on the device, and
// the workspace layout never creates one. A referenced path that is or contains a link is refused.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Files looked at while walking one workspace, at most. */
const MAX_WALK_ENTRIES = 20_000;
/** Largest requirements file read, in bytes. */
const MAX_REQUIREMENTS_FILE_BYTES = 256 * 1024;

const DISTRIBUTION = /\.(whl|tar\.gz|tgz|zip|tar\.bz2|tar\.xz)$/i;

export class WorkspaceError extends Error {
  constructor(
    readonly code: 'UNSAFE_PATH' | 'NOT_FOUND' | 'TOO_MANY_FILES',
    message: string,
  ) {
    super(message);
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Regular files below `root` (workspace-relative paths, sorted); links are skipped or refused. */
async function walk(root: string, rel: string, refuseLinks: boolean): Promise<string[]> {
  const out: string[] = [];
  let seen = 0;
  const visit = async (dirRel: string) => {
    const entries = await readdir(join(root, dirRel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (++seen > MAX_WALK_ENTRIES)
        throw new WorkspaceError('TOO_MANY_FILES', `more than ${MAX_WALK_ENTRIES} files`);
      const r = dirRel === '' ? e.name : `${dirRel}/${e.name}`;
      if (e.isSymbolicLink()) {
        // pip follows links in --find-links folders: a linked "wheel" could be any file of the device.
        if (refuseLinks || DISTRIBUTION.test(e.name))
          throw new WorkspaceError('UNSAFE_PATH', `"${r}" is a symbolic link`);
        continue;
      }
      if (e.isDirectory()) await visit(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await visit(rel);
  return out;
}

export interface ShippedDistributions {
  /** Workspace-relative path + sha256 of every wheel/sdist in the workspace. */
  files: { path: string; sha256: string }[];
  /** Workspace-relative folders holding at least one distribution ('' = the workspace itself). */
  folders: string[];
}

/**
 * Finds and hashes the distributions shipped in `workspace`. `known` holds hashes the downloader
 * already computed (workspace-relative path → sha256 hex), so big wheels are not read twice.
 */
export async function shippedDistributions(
  workspace: string,
  known: Record<string, string> = {},
): Promise<ShippedDistributions> {
  const all = await walk(workspace, '', false);
  const dists = all.filter((p) => DISTRIBUTION.test(p));
  const files: { path: string; sha256: string }[] = [];
  for (const p of dists) files.push({ path: p, sha256: known[p] ?? (await sha256File(join(workspace, p))) });
  const folders = [
    ...new Set(dists.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : ''))),
  ].sort();
  return { files, folders };
}

/**
 * Refuses a workspace path reached through a symbolic link (pip would follow it out of the
 * workspace). A path that does not exist is fine here: pip reports it, naming the line.
 */
export async function checkNoLinks(workspace: string, rel: string): Promise<boolean> {
  let cur = workspace;
  for (const part of rel === '' ? [] : rel.split('/')) {
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (st === null) return false;
    if (st.isSymbolicLink()) throw new WorkspaceError('UNSAFE_PATH', `"${rel}" goes through a symbolic link`);
  }
  return true;
}

/** One hash over a local path a requirement names: a file's bytes, or a folder's paths and bytes. */
export async function hashLocalPath(workspace: string, rel: string): Promise<string> {
  if (!(await checkNoLinks(workspace, rel)))
    throw new WorkspaceError('NOT_FOUND', `"${rel}" does not exist in the workspace`);
  const cur = join(workspace, rel);
  const st = await lstat(cur);
  if (st.isFile()) return sha256File(cur);
  const h = createHash('sha256');
  for (const f of await walk(workspace, rel, true))
    h.update(`${f}\0${await sha256File(join(workspace, f))}\n`);
  return h.digest('hex');
}

/**
 * Reads a workspace-relative requirements file for normaliseRequirements: null unless it is a
 * regular file reached without links and within the size limit.
 */
export function readWorkspaceFile(workspace: string, rel: string): string | null {
  let cur = workspace;
  for (const part of rel.split('/')) {
    cur = join(cur, part);
    try {
      if (lstatSync(cur).isSymbolicLink()) return null;
    } catch {
      return null;
    }
  }
  try {
    const st = lstatSync(cur);
    if (!st.isFile() || st.size > MAX_REQUIREMENTS_FILE_BYTES) return null;
    return readFileSync(cur, 'utf8');
  } catch {
    return null;
  }
}
