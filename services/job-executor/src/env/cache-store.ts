// The cache directory on disk, and the file operations on it.
//
//   <cacheDir>/<key>/              a ready virtualenv (0755 dirs, world-readable files, owned by us)
//   <cacheDir>/.building/<key>-<r>  a virtualenv being built (renamed to <key> when complete)
//   <cacheDir>/.building/<key>-<r>.home   pip's throwaway HOME, requirements and constraints files
//   <cacheDir>/.locks/<key>.lock    flock target: one builder (or hit, or evictor) per key
//   <cacheDir>/.meta/<key>.json     { sizeBytes, createdMs, lastUsedMs }
//   <cacheDir>/.trash/              environments being deleted (renamed out of the way first, so
//                                   nobody ever sees half an environment)
//
// An environment exists exactly when <cacheDir>/<key> exists: the rename is the commit point.
// The bookkeeping folders are 0700: the job user may read environments, not locks or metadata.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isKey } from '../core/env/cache-key.js';
import { removeTree } from './seal.js';

export interface EnvMeta {
  sizeBytes: number;
  createdMs: number;
  lastUsedMs: number;
}

export class CacheStore {
  constructor(readonly dir: string) {}

  envDir = (key: string) => join(this.dir, key);
  lockFile = (key: string) => join(this.dir, '.locks', `${key}.lock`);
  metaFile = (key: string) => join(this.dir, '.meta', `${key}.json`);
  buildingDir = () => join(this.dir, '.building');
  newBuildDir = (key: string) => join(this.dir, '.building', `${key}-${randomBytes(6).toString('hex')}`);

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await chmod(this.dir, 0o755);
    for (const sub of ['.building', '.locks', '.meta', '.trash']) {
      // .building is 0711: a build user may enter its own (unguessable) build folder, not list others.
      const mode = sub === '.building' ? 0o711 : 0o700;
      await mkdir(join(this.dir, sub), { recursive: true, mode });
      await chmod(join(this.dir, sub), mode);
    }
  }

  async readMeta(key: string): Promise<EnvMeta | null> {
    try {
      const m = JSON.parse(await readFile(this.metaFile(key), 'utf8')) as Partial<EnvMeta>;
      if (typeof m.sizeBytes !== 'number' || typeof m.lastUsedMs !== 'number') return null;
      return { sizeBytes: m.sizeBytes, createdMs: m.createdMs ?? m.lastUsedMs, lastUsedMs: m.lastUsedMs };
    } catch {
      return null;
    }
  }

  /** Atomic replace (write a temp file, rename): a reader sees the old or the new record. */
  async writeMeta(key: string, meta: EnvMeta): Promise<void> {
    const tmp = `${this.metaFile(key)}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
    await rename(tmp, this.metaFile(key));
  }

  async touch(key: string, nowMs: number): Promise<void> {
    const meta = (await this.readMeta(key)) ?? {
      sizeBytes: await diskUsage(this.envDir(key)),
      createdMs: nowMs,
      lastUsedMs: nowMs,
    };
    await this.writeMeta(key, { ...meta, lastUsedMs: nowMs });
  }

  async keys(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && isKey(e.name)).map((e) => e.name);
  }

  /** Moves an environment out of sight, then deletes it. Resolves to false if it was not there. */
  async remove(key: string): Promise<boolean> {
    const trash = join(this.dir, '.trash', `${key}-${randomBytes(6).toString('hex')}`);
    try {
      await rename(this.envDir(key), trash);
    } catch {
      return false;
    }
    await rm(this.metaFile(key), { force: true });
    await removeTree(trash);
    return true;
  }

  /**
   * Removes leftovers of crashed deletions and metadata of environments that are gone. Temp files
   * are left alone until `staleMs` old: another process may be between writing and renaming one.
   */
  async sweep(nowMs: number, staleMs = 10 * 60_000): Promise<void> {
    const trash = join(this.dir, '.trash');
    for (const e of await readdir(trash)) {
      const st = await lstat(join(trash, e)).catch(() => null);
      if (st && nowMs - st.mtimeMs >= staleMs) await removeTree(join(trash, e));
    }
    const present = new Set(await this.keys());
    for (const f of await readdir(join(this.dir, '.meta'))) {
      const path = join(this.dir, '.meta', f);
      if (f.endsWith('.json')) {
        // Metadata is written before the rename that publishes its environment: keep fresh ones.
        const st = await lstat(path).catch(() => null);
        if (st && !present.has(f.slice(0, -5)) && nowMs - st.mtimeMs >= staleMs)
          await rm(path, { force: true });
      } else if (f.endsWith('.tmp')) {
        const st = await lstat(path).catch(() => null);
        if (st && nowMs - st.mtimeMs >= staleMs) await rm(path, { force: true });
      }
    }
  }
}

/** Bytes allocated under `path` (st_blocks × 512), links not followed. */
export async function diskUsage(path: string): Promise<number> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return 0;
  let total = st.blocks * 512;
  if (st.isDirectory())
    for (const e of await readdir(path).catch(() => [] as string[])) total += await diskUsage(join(path, e));
  return total;
}
