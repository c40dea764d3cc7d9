// Who the base interpreter is, asked once per manager (the answer feeds every cache key).
import { execFile } from 'node:child_process';
import type { InterpreterIdentity } from '../core/env/cache-key.js';

const PROBE = [
  'import json, os, sys, sysconfig',
  'print(json.dumps({"realPath": os.path.realpath(sys.executable), "version": sys.version,',
  ' "platformTag": sysconfig.get_platform() + " " + sys.implementation.cache_tag,',
  ' "major": sys.version_info[0], "minor": sys.version_info[1]}))',
].join('\n');

export type ProbeResult =
  | { ok: true; identity: InterpreterIdentity; versionShort: string }
  | { ok: false; message: string };

export function probeInterpreter(python: string, env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(python, ['-I', '-c', PROBE], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return resolve({ ok: false, message: `${python}: ${stderr.trim() || err.message}` });
      try {
        const p = JSON.parse(stdout) as {
          realPath: string;
          version: string;
          platformTag: string;
          major: number;
          minor: number;
        };
        resolve({
          ok: true,
          identity: { path: python, realPath: p.realPath, version: p.version, platformTag: p.platformTag },
          versionShort: `${p.major}.${p.minor}`,
        });
      } catch (e) {
        resolve({ ok: false, message: `${python}: unreadable probe output (${(e as Error).message})` });
      }
    });
  });
}
