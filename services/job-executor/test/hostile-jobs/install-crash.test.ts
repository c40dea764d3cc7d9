// Hostile job, and the executor killed mid-install: a shipped sdist's build code (run by pip as the job
// user) leaves a setsid daemon behind and hangs; the executor is killed with SIGKILL while the build
// runs. The daemon outlives it, but the install phase's run-state record names the job: the restart
// kills the daemon before it takes any job, removes the phase's cgroup, and the job runs again (its
// second build returns at once) and succeeds. Real executor process (dist/main.js), redis-server,
// fauxqs, /usr/bin/python3 and pip.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/adapters/cgroup.js';
import { scanProcesses } from '../../src/adapters/proc-scan.js';
import { alive } from '../support/process-alive.js';
import { type ProcessHarness, startProcessHarness } from '../support/process-harness.js';

const JOB = 'install-crash-1';
let h: ProcessHarness;
let pidDir: string;

beforeAll(async () => {
  h = await startProcessHarness({
    name: 'install-crash',
    user: 'ef-install-crash',
    env: { EDGEFLEET_CLAIM_IDLE_MS: '2000' },
  });
  pidDir = mkdtempSync(join(tmpdir(), 'edgefleet-install-crash-pids-'));
  chmodSync(pidDir, 0o777);
});
afterAll(async () => {
  await h?.stop();
  const pidFile = join(pidDir ?? '', 'daemon.pid');
  if (pidDir && existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  if (pidDir) rmSync(pidDir, { recursive: true, force: true });
});

const startExecutor = async () => (await h.start()).p;

/** An in-tree PEP 517 backend: the first build starts the daemon and hangs; a later one builds. */
const backend = (pidFile: string) => `
import base64, hashlib, os, time, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    out = ${JSON.stringify(pidFile)}
    if not os.path.exists(out):
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
        while True:
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

async function submit(pidFile: string): Promise<void> {
  await h.put(`${JOB}/main.py`, 'import evilpkg\nprint("ran", evilpkg.X)\n');
  await h.put(`${JOB}/requirements.txt`, './evilpkg\n');
  await h.put(
    `${JOB}/evilpkg/pyproject.toml`,
    '[build-system]\nrequires = []\nbuild-backend = "setup"\nbackend-path = ["."]\n',
  );
  await h.put(`${JOB}/evilpkg/setup.py`, backend(pidFile));
  await h.submit({
    jobId: JOB,
    code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
    inputs: [
      { uri: `s3://${h.bucket}/${JOB}/main.py` },
      { uri: `s3://${h.bucket}/${JOB}/requirements.txt` },
      { uri: `s3://${h.bucket}/${JOB}/evilpkg/` },
    ],
  });
}

const results = () => h.results(JOB);

describe('SIGKILL of the executor while a build runs', () => {
  it('the restart kills the build daemon and removes the install cgroup before the job runs again', async () => {
    const cgroups = await detectCgroups();
    const installDirs = [cgroups.v2?.base, cgroups.v1Pids]
      .filter((b): b is string => b !== undefined)
      .map((b) => join(b, `${JOB}@install`));
    const pidFile = join(pidDir, 'daemon.pid');
    let p = await startExecutor();
    await submit(pidFile);
    await eventually(async () => existsSync(pidFile), {
      timeoutMs: 90_000,
      what: 'the build daemon started',
    });
    const daemon = Number(readFileSync(pidFile, 'utf8'));
    p.proc.kill('SIGKILL');
    await p.exited;
    // The daemon outlives the executor (and so does the phase's cgroup, holding it)...
    expect(alive(daemon)).toBe(true);
    expect(installDirs.every((d) => existsSync(d))).toBe(true);

    p = await startExecutor();
    // ...until the restart, which ends it before the job's second attempt (whose build returns at once).
    const r = await eventually(async () => (await results()).find((x) => x.event === 'terminal'), {
      timeoutMs: 90_000,
      what: 'the terminal result',
    });
    expect(alive(daemon)).toBe(false);
    expect(p.output()).toMatch(/killed what a previous run left/);
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(installDirs.filter((d) => existsSync(d))).toEqual([]);
    expect(await scanProcesses({ jobId: JOB })).toEqual([]);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 200_000);
});
