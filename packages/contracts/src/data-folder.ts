// The data folder must be reachable by the job user: job code runs as that user in
// `<dataDir>/jobs/<id>/work` with its environment under `<dataDir>/envs`, so every folder from `/`
// down to the data folder needs search (x) permission for it. Pure: the caller stats the folders.
// Used by the executor at start and by local mode (packages/cli) before it starts anything, so both
// say the same line.

export interface FolderStat {
  path: string;
  /** st_mode (permission bits are read). */
  mode: number;
  uid: number;
  gid: number;
}

/** Whether `user` (its primary group only: jobs run with no supplementary groups) may enter `f`. */
function canSearch(f: FolderStat, user: { uid: number; gid: number }): boolean {
  if (user.uid === 0) return true;
  if (f.uid === user.uid) return (f.mode & 0o100) !== 0;
  if (f.gid === user.gid) return (f.mode & 0o010) !== 0;
  return (f.mode & 0o001) !== 0;
}

/**
 * `chain`: the folders from `/` down to the data folder, in that order. Returns the one line to show
 * (the folder, the first folder in the way, the fix) or null when the job user can reach it.
 */
export function dataFolderProblem(
  dataDir: string,
  chain: readonly FolderStat[],
  user: { name: string; uid: number; gid: number },
): string | null {
  const blocked = chain.find((f) => !canSearch(f, user));
  if (!blocked) return null;
  const mode = (blocked.mode & 0o7777).toString(8).padStart(4, '0');
  return (
    `data folder ${dataDir} is not reachable by the job user ${user.name}: ${blocked.path} is mode ${mode}; ` +
    `run \`chmod o+x ${blocked.path}\` or set EDGEFLEET_DATA_DIR to a folder the job user can reach`
  );
}

/** The folders from `/` down to `absPath` (absolute, normalised), for the caller to stat. */
export function foldersDownTo(absPath: string): string[] {
  const parts = absPath.split('/').filter(Boolean);
  const out = ['/'];
  for (let i = 1; i <= parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}
