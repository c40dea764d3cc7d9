// Hostile job: a shipped source distribution whose build code (an in-tree build backend named
// setup.py, run by pip as the job user) leaves a setsid daemon behind, detached from pip's process
// group and its pipes. The install phase must be contained like the run: whatever the install's
// outcome (built, failed, timed out, canceled), the daemon is gone before the job's results entry is
// written, and so is the phase's cgroup. Real executor, redis-server,
// fauxqs, /usr/bin/python3 and pip, builds as the job user (as main.ts does by default).
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type Harness, startHarness } from '../support/harness.js';
import { alive } from '../support/process-alive.js';

let h: Harness;
let pidDir: string;
beforeAll(async () => {
  h = await startHarness({ user: 'ef-hostile-install', settings: { envBuildAsJobUser: true } });
  pidDir = mkdtempSync(join(tmpdir(), 'edgefleet-daemon-'));
  chmodSync(pidDir, 0o777);
});
afterAll(async () => {
  await h?.stop();
});

/** What the build does once its daemon runs: build a one-module wheel, fail, or hang (never return). */
type BuildEnd = 'build' | 'fail' | 'hang';

/** An in-tree PEP 517 backend: starts the daemon, then ends as `end` says. */
const backend = (pidFile: string, end: BuildEnd) => `
import base64, hashlib, os, time, zipfile

def _daemon():
    out = ${JSON.stringify(pidFile)}
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open(out + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(out + ".tmp", out)
            fd = os.open("/dev/null", os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
            os.execve("/bin/sleep", ["sleep", "600"], {})
        os._exit(0)
    while not os.path.exists(out):
        time.sleep(0.01)

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _daemon()
    if ${end === 'fail' ? 'True' : 'False'}:
        raise SystemExit("build failed on purpose")
    while ${end === 'hang' ? 'True' : 'False'}:
        time.sleep(1)
    name = "evilpkg-0.1-py3-none-any.whl"
    files = {
        "evilpkg.py": "X = 1\\n",
        "evilpkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\\nName: evilpkg\\nVersion: 0.1\\n",
        "evilpkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
            d = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{p},sha256={d},{len(text)}")
        record.append("evilpkg-0.1.dist-info/RECORD,,")
        z.writestr("evilpkg-0.1.dist-info/RECORD", "\\n".join(record) + "\\n")
    return name
`;

async function submitSdistJob(jobId: string, end: BuildEnd, installTimeoutSeconds?: number) {
  const pidFile = join(pidDir, `${jobId}.pid`);
  // The job itself looks for the daemon: a survivor of the install would meet the job's run.
  await h.put(
    `${jobId}/main.py`,
    [
      'import evilpkg, sys',
      `pid = open(${JSON.stringify(pidFile)}).read()`,
      'try:',
      '    state = open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0]',
      'except OSError:',
      '    state = "gone"',
      'print("daemon", state)',
      'sys.exit(7 if state not in ("gone", "Z", "X") else 0)',
    ].join('\n'),
  );
  await h.put(`${jobId}/requirements.txt`, './evilpkg\n');
  await h.put(
    `${jobId}/evilpkg/pyproject.toml`,
    '[build-system]\nrequires = []\nbuild-backend = "setup"\nbackend-path = ["."]\n',
  );
  await h.put(`${jobId}/evilpkg/setup.py`, backend(pidFile, end));
  await h.submit({
    jobId,
    code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
    inputs: [
      { uri: `s3://${BUCKET}/${jobId}/main.py` },
      { uri: `s3://${BUCKET}/${jobId}/requirements.txt` },
      { uri: `s3://${BUCKET}/${jobId}/evilpkg/` },
    ],
    ...(installTimeoutSeconds ? { limits: { installTimeoutSeconds } } : {}),
  });
  return pidFile;
}

/** Where the install phase's cgroup folders of a job may be on this host (executor.ts names them). */
const installCgroups = (jobId: string) =>
  [h.cgroups.v2?.base, h.cgroups.v1Memory, h.cgroups.v1Pids]
    .filter((b): b is string => b !== undefined)
    .map((b) => join(b, `${jobId}@install`));

describe('a setsid daemon started by a shipped sdist at install time', () => {
  it('a build that succeeds: the daemon is gone before the job runs and before the results entry; the job succeeds', async () => {
    const pidFile = await submitSdistJob('daemon-ok', 'build');
    const r = await h.terminal('daemon-ok', 120_000);
    const daemonAlive = existsSync(pidFile) ? alive(Number(readFileSync(pidFile, 'utf8'))) : null;
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect(daemonAlive).toBe(false); // started (the file exists), and dead by the results entry
    expect(await h.leftovers('daemon-ok')).toEqual([]);
    expect(installCgroups('daemon-ok').filter((d) => existsSync(d))).toEqual([]);
  }, 150_000);

  it('a build that fails: INSTALL_FAILED, and the daemon is gone before the results entry', async () => {
    const pidFile = await submitSdistJob('daemon-fail', 'fail');
    const r = await h.terminal('daemon-fail', 120_000);
    const daemonAlive = existsSync(pidFile) ? alive(Number(readFileSync(pidFile, 'utf8'))) : null;
    expect(r).toMatchObject({ state: 'FAILED', reason: 'INSTALL_FAILED' });
    expect(daemonAlive).toBe(false);
    expect(await h.leftovers('daemon-fail')).toEqual([]);
    expect(installCgroups('daemon-fail').filter((d) => existsSync(d))).toEqual([]);
  }, 150_000);

  it('a build that outlives the install timeout: INSTALL_TIMEOUT, the daemon and the phase cgroup are gone before the results entry', async () => {
    // Long enough for pip to reach the build under load (the daemon must have started: checked below).
    const pidFile = await submitSdistJob('daemon-timeout', 'hang', 30);
    const r = await h.terminal('daemon-timeout', 120_000);
    const daemonAlive = existsSync(pidFile) ? alive(Number(readFileSync(pidFile, 'utf8'))) : null;
    const cgroupsLeft = installCgroups('daemon-timeout').filter((d) => existsSync(d));
    expect(r).toMatchObject({ state: 'TIMED_OUT', reason: 'INSTALL_TIMEOUT' });
    expect(daemonAlive).toBe(false);
    expect(cgroupsLeft).toEqual([]);
    expect(await h.leftovers('daemon-timeout')).toEqual([]);
  }, 150_000);

  it('a build canceled while it runs: CANCELED, the daemon and the phase cgroup are gone before the results entry', async () => {
    const pidFile = await submitSdistJob('daemon-cancel', 'hang');
    // The daemon has started and the build hangs: the install phase is under way.
    await eventually(async () => existsSync(pidFile), { timeoutMs: 90_000, what: 'the daemon started' });
    // The phase has a cgroup where the host has any (v1 memory only with a memory limit, which an
    // install has not).
    if (installCgroups('daemon-cancel').length > 0)
      expect(installCgroups('daemon-cancel').some((d) => existsSync(d))).toBe(true);
    await h.cancel('daemon-cancel');
    const r = await h.terminal('daemon-cancel', 60_000);
    const daemonAlive = alive(Number(readFileSync(pidFile, 'utf8')));
    const cgroupsLeft = installCgroups('daemon-cancel').filter((d) => existsSync(d));
    expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' });
    expect(daemonAlive).toBe(false);
    expect(cgroupsLeft).toEqual([]);
    expect(await h.leftovers('daemon-cancel')).toEqual([]);
  }, 150_000);
});
