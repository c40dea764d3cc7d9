// Hostile job, and the executor killed mid-install: a shipped sdist's build code (run by pip as the job
// user) leaves a setsid daemon behind and hangs; the executor is killed with SIGKILL while the build
// runs. The daemon outlives it, but the install phase's run-state record names the job: the restart
// kills the daemon before it takes any job, removes the phase's cgroup, and the job runs again (its
// second build returns at once) and succeeds. Real executor process (dist/main.js), redis-server,
// fauxqs, /usr/bin/python3 and pip.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { encodeEntry, fieldsToRecord, JobMessageV1, type JobsEntry, redisNames } from '@edgefleet/contracts';
import { type Redis, transitionJob } from '@edgefleet/service-kit';
import {
  type Emulator,
  eventually,
  freePort,
  type RedisServer,
  type ServiceProcess,
  startEmulator,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/adapters/cgroup.js';
import { scanProcesses } from '../../src/adapters/proc-scan.js';
import { ensureUser } from '../support/harness.js';
import { alive } from '../support/process-alive.js';

const entry = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const USER = 'ef-install-crash';
const BUCKET = 'install-crash-inputs';
const JOB = 'install-crash-1';
let redisServer: RedisServer;
let emulator: Emulator;
let redis: Redis;
let dataDir: string;
let pidDir: string;
const names = redisNames('install-crash');
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  ensureUser(USER);
  redisServer = await startRedisServer();
  redis = redisServer.client();
  emulator = await startEmulator();
  emulator.createBucket(BUCKET);
  dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-install-crash-'));
  chmodSync(dataDir, 0o755);
  pidDir = mkdtempSync(join(tmpdir(), 'edgefleet-install-crash-pids-'));
  chmodSync(pidDir, 0o777);
});
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL', 100);
  const pidFile = join(pidDir ?? '', 'daemon.pid');
  if (pidDir && existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  redis?.disconnect();
  await redisServer?.stop();
  await emulator?.stop();
  for (const d of [dataDir, pidDir]) if (d) rmSync(d, { recursive: true, force: true });
});

async function startExecutor(): Promise<ServiceProcess> {
  const port = await freePort();
  const p = startServiceProcess(entry, {
    env: {
      ...emulator.env(),
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redisServer.url,
      EDGEFLEET_REDIS_PREFIX: names.prefix,
      EDGEFLEET_DATA_DIR: dataDir,
      EDGEFLEET_ALLOWED_BUCKETS: BUCKET,
      EDGEFLEET_JOB_USER: USER,
      EDGEFLEET_INSTANCE_ID: 'executor-install-crash-test',
      EDGEFLEET_CLAIM_IDLE_MS: '2000',
      EDGEFLEET_KILL_GRACE_MS: '500',
      EDGEFLEET_ENV_SEED_PIP: 'false',
      EDGEFLEET_PIP_NO_INDEX: 'true',
      EDGEFLEET_MIN_FREE_DISK_BYTES: '0',
    },
  });
  procs.push(p);
  await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
  return p;
}

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
  const put = (key: string, body: string) =>
    emulator.s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: `${JOB}/${key}`, Body: body }));
  await put('main.py', 'import evilpkg\nprint("ran", evilpkg.X)\n');
  await put('requirements.txt', './evilpkg\n');
  await put(
    'evilpkg/pyproject.toml',
    '[build-system]\nrequires = []\nbuild-backend = "setup"\nbackend-path = ["."]\n',
  );
  await put('evilpkg/setup.py', backend(pidFile));
  const message = JobMessageV1.parse({
    version: 1,
    kind: 'job',
    jobId: JOB,
    code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
    inputs: [
      { uri: `s3://${BUCKET}/${JOB}/main.py` },
      { uri: `s3://${BUCKET}/${JOB}/requirements.txt` },
      { uri: `s3://${BUCKET}/${JOB}/evilpkg/` },
    ],
    output: { uri: `s3://${BUCKET}/out/` },
  });
  const e: JobsEntry = { jobId: JOB, message, receivedAt: Date.now(), source: 'http' };
  const r = await transitionJob(redis, names, {
    jobId: JOB,
    to: 'QUEUED',
    from: ['NEW'],
    by: 'test',
    now: Date.now(),
    set: { message: JSON.stringify(message) },
    xadd: [{ stream: names.jobsStream, fields: encodeEntry(e) }],
  });
  expect(r.ok).toBe(true);
}

const results = async () =>
  ((await redis.xrange(names.resultsStream, '-', '+')) as [string, string[]][])
    .map(([, f]) => fieldsToRecord(f))
    .filter((f) => f.jobId === JOB)
    .map((f) => JSON.parse(f.data ?? '{}'));

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
