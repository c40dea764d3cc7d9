// Sealing a built environment: handing the tree to the executor's user before it touches it as root.
//
// pip (and an sdist's setup.py) runs as the build user, which owns the build folder while it runs; a
// process of that user left behind can rename entries and swap a file for a symlink at any moment.
// A path-based lstat-then-chmod/write by root can then be redirected to any file on the device. So the
// tree is sealed top-down, one directory at a time, and never through a path that could be swapped:
//   - every entry is opened with O_NOFOLLOW (a symlink fails with ELOOP and is only lchown-ed), and
//     the opened inode is checked (fstat) against what was listed (dev, ino, type, owner);
//   - ownership and mode change through that descriptor (fchown, fchmod), so they land on the listed
//     inode whatever happens to the name;
//   - a directory is made root-owned and 0755 *before* its entries are read: from then on the build
//     user can no longer create, rename or remove entries in it (write permission on a directory is
//     checked at each operation, also through an open descriptor), so the names listed stay put.
// The top folder's parent (`<cacheDir>/.building`) belongs to the executor, so the walk starts on a
// name the build user cannot swap. An entry owned by anyone but the build user (a hard link to a file
// of another user) or of another type (FIFO, socket, device) refuses the whole environment.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lchown, lstat, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class UnsafeEnvironment extends Error {
  override name = 'UnsafeEnvironment';
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Mode of a sealed entry: directories 0755; files lose group/other write, gain read (+x where the owner has it). */
function sealedMode(st: Pick<Stats, 'mode'>, isDirectory: boolean): number {
  if (isDirectory) return 0o755;
  let mode = (st.mode & 0o777 & ~0o022) | 0o044;
  if (mode & 0o100) mode |= 0o011;
  return mode;
}

const sameInode = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** Opens `path` without following a final symlink and checks it is the inode `listed` described. */
export async function openListed(path: string, listed: Stats, flags = OPEN_FLAGS): Promise<FileHandle> {
  const fh = await open(path, flags | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    const sameType = st.isDirectory() === listed.isDirectory() && st.isFile() === listed.isFile();
    if (!sameInode(st, listed) || !sameType || st.uid !== listed.uid)
      throw new UnsafeEnvironment(`${path} changed while it was being sealed`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * Seals the tree at `dir` for `owner` (the executor's uid/gid): every entry owned by `owner`, with
 * sealedMode. With `buildUid` (the user pip ran as) every entry must belong to that user, else to
 * `owner`: a file of anyone else (root's, hard-linked in) is never chowned, chmodded or rewritten. Returns the disk
 * usage in bytes (st_blocks × 512). Throws UnsafeEnvironment when the tree is not what a build makes.
 */
export async function sealEnvironment(
  dir: string,
  owner: { uid: number; gid: number },
  buildUid?: number,
): Promise<number> {
  const accepted = new Set([buildUid ?? owner.uid]);
  const top = await lstat(dir);
  if (!top.isDirectory()) throw new UnsafeEnvironment(`${dir} is not a directory`);
  try {
    return await sealEntry(dir, top, owner, accepted);
  } catch (e) {
    // A name that vanished or became a link between the listing and the open: moved under us.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR')
      throw new UnsafeEnvironment(`changed while it was being sealed: ${(e as Error).message}`);
    throw e;
  }
}

async function sealEntry(
  path: string,
  listed: Stats,
  owner: { uid: number; gid: number },
  accepted: Set<number>,
): Promise<number> {
  if (!accepted.has(listed.uid)) throw new UnsafeEnvironment(`${path} belongs to uid ${listed.uid}`);
  const total = listed.blocks * 512;
  if (listed.isSymbolicLink()) {
    // Its parent is sealed: the name is this link. lchown never follows it; its mode is meaningless.
    if (listed.uid !== owner.uid) await lchown(path, owner.uid, owner.gid);
    return total;
  }
  if (!listed.isDirectory() && !listed.isFile())
    throw new UnsafeEnvironment(`${path} is not a file, folder or link`);
  const fh = await openListed(path, listed);
  try {
    if (listed.uid !== owner.uid || listed.gid !== owner.gid) await fh.chown(owner.uid, owner.gid);
    const mode = sealedMode(listed, listed.isDirectory());
    if ((listed.mode & 0o7777) !== mode) await fh.chmod(mode);
  } finally {
    await fh.close();
  }
  if (!listed.isDirectory()) return total;
  let sum = total;
  for (const name of await readdir(path)) {
    const p = join(path, name);
    sum += await sealEntry(p, await lstat(p), owner, accepted);
  }
  return sum;
}

/**
 * Whether a cached environment is still sealed: the top folder, bin/, lib/, every lib/<python>/ and
 * its site-packages/, pyvenv.cfg and bin/python's link are owned by `uid` and not writable by group or
 * other. A handful of lstat calls (the warm path pays for them), not a walk of the tree: the tree
 * below is out of the job user's reach once these are.
 */
export async function isSealed(dir: string, uid: number): Promise<string | null> {
  const checks: { path: string; dir: boolean }[] = [
    { path: dir, dir: true },
    { path: join(dir, 'bin'), dir: true },
    { path: join(dir, 'lib'), dir: true },
    { path: join(dir, 'pyvenv.cfg'), dir: false },
  ];
  for (const v of await readdir(join(dir, 'lib')).catch(() => [] as string[])) {
    checks.push({ path: join(dir, 'lib', v), dir: true });
    checks.push({ path: join(dir, 'lib', v, 'site-packages'), dir: true });
  }
  for (const c of checks) {
    const st = await lstat(c.path).catch(() => null);
    if (st === null) return `${c.path} is missing`;
    if (c.dir ? !st.isDirectory() : !st.isFile()) return `${c.path} has the wrong type`;
    if (st.uid !== uid) return `${c.path} belongs to uid ${st.uid}`;
    if (st.mode & 0o022) return `${c.path} is writable by group or other`;
  }
  const py = await lstat(join(dir, 'bin', 'python')).catch(() => null);
  if (py === null) return `${join(dir, 'bin', 'python')} is missing`;
  if (py.uid !== uid) return `${join(dir, 'bin', 'python')} belongs to uid ${py.uid}`;
  return null;
}

/**
 * `rm -rf dir` for a tree a job-user process may still be changing (a failed build, its HOME, an
 * environment that is no longer sealed). rm lists a folder by path after lstat-ing it: a folder
 * swapped for a link in between would make root delete the link's target. So every folder is first
 * taken (fchown to us, fchmod 0700 through an O_NOFOLLOW descriptor checked against the listing),
 * top-down and before it is listed; then no name in the tree can change and rm only unlinks links.
 */
export async function removeTree(dir: string): Promise<void> {
  const top = await lstat(dir).catch(() => null);
  if (top === null) return;
  if (top.isDirectory()) await takeFolders(dir, top);
  await rm(dir, { recursive: true, force: true });
}

async function takeFolders(path: string, listed: Stats): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await openListed(path, listed, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return; // gone or replaced before its parent was taken: rm unlinks whatever the name is now
  }
  try {
    await fh.chown(process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    await fh.chmod(0o700);
  } finally {
    await fh.close();
  }
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const st = await lstat(join(path, name)).catch(() => null);
    if (st?.isDirectory()) await takeFolders(join(path, name), st);
  }
}
