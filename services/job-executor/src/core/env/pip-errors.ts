// pip's stderr → one line naming what failed. Pure.
//
// pip (23.x, and the same wording since 20.3's resolver) reports failures as `ERROR: …` lines; the
// most specific one wins, in this order: no space left (a device problem, not the job's), no matching
// distribution (names the requirement), hash mismatch, conflicting dependencies, a failed build, an
// HTTP error for a URL, a missing local file, then the last `ERROR:` line as written.

/** Longest detail returned, in characters (it ends up in the job record and the notification). */
export const MAX_DETAIL = 400;

export interface PipFailure {
  code: 'INSTALL_FAILED' | 'DISK_FULL';
  detail: string;
}

const clip = (s: string) => (s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s);

export function describePipFailure(stderr: string, exitCode: number | null): PipFailure {
  const lines = stderr.replace(/\r/g, '').split('\n');
  const errors = lines.filter((l) => l.startsWith('ERROR: ')).map((l) => l.slice(7).trim());
  const find = (re: RegExp) => {
    for (const l of errors) {
      const m = re.exec(l);
      if (m) return m;
    }
    return null;
  };
  if (/No space left on device|\[Errno 28\]/.test(stderr))
    return { code: 'DISK_FULL', detail: clip(`no space left on device while installing requirements`) };
  let m = find(/^No matching distribution found for (.+)$/);
  if (m) {
    const req = (m[1] ?? '').trim();
    return {
      code: 'INSTALL_FAILED',
      detail: clip(`requirement "${req}" could not be satisfied: No matching distribution found for ${req}`),
    };
  }
  m = find(/^Could not find a version that satisfies the requirement (\S+)/);
  if (m)
    return {
      code: 'INSTALL_FAILED',
      detail: clip(`requirement "${m[1]}" could not be satisfied: no version found`),
    };
  if (errors.some((l) => l.startsWith('THESE PACKAGES DO NOT MATCH THE HASHES'))) {
    const pkg = lines.find((l) => /^\s+\S+ from \S+/.test(l))?.trim();
    return { code: 'INSTALL_FAILED', detail: clip(`hash mismatch${pkg ? `: ${pkg}` : ''}`) };
  }
  m = find(/^Cannot install (.+) because these package versions have conflicting dependencies/);
  if (m) return { code: 'INSTALL_FAILED', detail: clip(`conflicting dependencies between ${m[1]}`) };
  m = find(/^Failed building wheel for (\S+)|^Could not build wheels for (\S+)/);
  if (m) return { code: 'INSTALL_FAILED', detail: clip(`requirement "${m[1] ?? m[2]}" failed to build`) };
  m = find(/HTTP error (\d+) while getting (\S+)/);
  if (m) return { code: 'INSTALL_FAILED', detail: clip(`HTTP ${m[1]} while downloading ${m[2]}`) };
  m = find(/^Could not install requirement (.+?) because of HTTP error (\d+)/);
  if (m)
    return {
      code: 'INSTALL_FAILED',
      detail: clip(`requirement "${m[1]}" could not be downloaded (HTTP ${m[2]})`),
    };
  m = find(/^Requirement '(.+)' looks like a filename, but the file does not exist/);
  if (m) return { code: 'INSTALL_FAILED', detail: clip(`requirement "${m[1]}": file not found`) };
  m = find(/^(\S+\.whl) is not a supported wheel on this platform/);
  if (m) return { code: 'INSTALL_FAILED', detail: clip(`wheel "${m[1]}" is not supported on this platform`) };
  const last = errors.at(-1);
  if (last) return { code: 'INSTALL_FAILED', detail: clip(last) };
  const tail = lines.filter((l) => l.trim() !== '').at(-1);
  return {
    code: 'INSTALL_FAILED',
    detail: clip(
      `pip exited with ${exitCode === null ? 'a signal' : `code ${exitCode}`}${tail ? `: ${tail.trim()}` : ''}`,
    ),
  };
}
