// Which cached environments have a running process, from /proc (Linux).
//
// The runner starts jobs as `<cacheDir>/<key>/bin/python …`, and a job's children started through
// sys.executable carry the same path, so any process whose argv names a path under `<cacheDir>/<key>/`
// pins that environment. Processes we may not read are skipped (we run as root on a device; as
// another user we see our own). Costs one small read per process (~a few ms for a few hundred).
import { readdir, readFile } from 'node:fs/promises';

export async function environmentsInUse(cacheDir: string, procDir = '/proc'): Promise<Set<string>> {
  const prefix = `${cacheDir.replace(/\/+$/, '')}/`;
  const keys = new Set<string>();
  const pids = (await readdir(procDir).catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  await Promise.all(
    pids.map(async (pid) => {
      const raw = await readFile(`${procDir}/${pid}/cmdline`, 'utf8').catch(() => '');
      for (const arg of raw.split('\0')) {
        if (!arg.startsWith(prefix)) continue;
        const key = arg.slice(prefix.length).split('/')[0];
        if (key) keys.add(key);
      }
    }),
  );
  return keys;
}
