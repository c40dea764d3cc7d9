// The naive way to get an environment: a fresh `python -m venv` and `pip install --no-cache-dir -r`
// inside the job folder, every time. Not used by the service (it uses the environment cache in
// src/env/); kept as the baseline the benchmark compares the cache against.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentManager, EnvironmentRequest, EnvironmentResult } from '../src/core/env/types.js';

function run(
  argv: string[],
  cwd: string,
  logFile: string,
  env: Record<string, string>,
): Promise<number | null> {
  return new Promise((resolve) => {
    const out = createWriteStream(logFile, { flags: 'a' });
    const [cmd, ...args] = argv;
    const child = spawn(cmd as string, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once('error', () => resolve(null));
    child.once('close', (code) => {
      out.end();
      resolve(code);
    });
  });
}

export function naiveEnvironmentManager(o: { python: string; root: string }): EnvironmentManager {
  return {
    async ensure(req: EnvironmentRequest): Promise<EnvironmentResult> {
      const started = Date.now();
      const venvDir = join(o.root, `${req.jobId}-${started}`);
      const env = { PATH: '/usr/bin:/bin', HOME: o.root, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
      const venvArgs = [
        o.python,
        '-m',
        'venv',
        ...(req.systemSitePackages ? ['--system-site-packages'] : []),
        venvDir,
      ];
      if ((await run(venvArgs, req.workspace, req.logFile, env)) !== 0)
        return { ok: false, code: 'INSTALL_FAILED', detail: 'python -m venv failed' };
      if (req.requirementsFile) {
        const pip = [
          join(venvDir, 'bin', 'pip'),
          'install',
          '--no-cache-dir',
          '--find-links',
          req.workspace,
          '-r',
          req.requirementsFile,
        ];
        if ((await run(pip, req.workspace, req.logFile, env)) !== 0)
          return { ok: false, code: 'INSTALL_FAILED', detail: 'pip install failed' };
      }
      return { ok: true, venvDir, key: 'naive', hit: false, durationMs: Date.now() - started };
    },
    async evict() {
      return { removed: [], bytesFreed: 0 };
    },
  };
}
