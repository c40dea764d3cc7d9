// A built copy of an earlier commit of this repository, for benchmarks that compare today's code with
// it in the same run: `git archive <commit>` unpacked into a folder under the temp directory (no git
// worktree is registered), `pnpm install --frozen-lockfile --prefer-offline`, `pnpm build`. The folder
// is named after the full commit and marked once built, so a later run reuses it; delete it to rebuild.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BaselineTree {
  /** The full commit id the tree was built from. */
  commit: string;
  /** The tree's root (its packages/cli/dist/main.js is that commit's `edgefleet`). */
  dir: string;
  /** Whether this run built it (false: reused from an earlier run). */
  built: boolean;
}

const READY = '.edgefleet-bench-baseline-ready';

/** Builds (or reuses) the tree of `ref` as seen from the repository at `repoRoot`. */
export function prepareBaselineTree(
  repoRoot: string,
  ref: string,
  say: (line: string) => void,
): BaselineTree {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim();
  const dir = join(tmpdir(), `edgefleet-bench-baseline-${commit}`);
  if (existsSync(join(dir, READY))) {
    say(`baseline ${commit.slice(0, 12)}: reusing the built tree in ${dir}`);
    return { commit, dir, built: false };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Job code runs as an unprivileged user that must traverse down to the baseline node's data folder.
  chmodSync(dir, 0o755);
  const run = (cmd: string, args: string[], cwd: string) =>
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  say(`baseline ${commit.slice(0, 12)}: unpacking into ${dir}`);
  execFileSync(
    'bash',
    ['-o', 'pipefail', '-c', `git archive --format=tar "$1" | tar -x -C "$2"`, '_', commit, dir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  say(`baseline ${commit.slice(0, 12)}: pnpm install`);
  run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], dir);
  say(`baseline ${commit.slice(0, 12)}: pnpm build`);
  run('pnpm', ['build', '--output-logs=errors-only'], dir);
  writeFileSync(join(dir, READY), `${commit}\n`);
  return { commit, dir, built: true };
}

/**
 * The job user of the baseline node: a user of its own, because an earlier executor at concurrency 1
 * ends every process of its job user's uid when a job ends: with the usual job user it would kill the
 * jobs of this run's other node and of anything else on the machine.
 */
export const BASELINE_JOB_USER = 'edgefleet-bench-base';
