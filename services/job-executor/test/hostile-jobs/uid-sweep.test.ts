// The job user's uid shared with something else (a container: uids are mapped one to one). Stopping a
// job must kill only what is proven to be the job's; the executor must refuse to start while the uid
// is in use by processes that are not its own, naming them. The "container" is a process of the job
// user's uid in a pid namespace of its own (unshare --pid), as podman runs one.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignUidProcesses } from '../../src/adapters/proc-scan.js';
import { type Harness, pyJob, startHarness } from '../support/harness.js';
import { alive } from '../support/process-alive.js';

const USER = 'ef-hostile-uid';
const entry = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
let h: Harness;
let container: ChildProcess | undefined;
let foreignPid = 0;

beforeAll(async () => {
  h = await startHarness({ user: USER });
  // Started after the executor: the uid is free at its start, and taken by a "container" later.
  container = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      'setpriv',
      `--reuid=${h.jobUser.uid}`,
      `--regid=${h.jobUser.gid}`,
      '--clear-groups',
      'sleep',
      '600',
    ],
    { stdio: 'ignore' },
  );
  foreignPid = await eventually(() => foreignUidProcesses(h.jobUser.uid)[0]?.pid, {
    timeoutMs: 10_000,
    what: 'the container process of the job user uid',
  });
});
afterAll(async () => {
  // The namespace's init (pid 1 inside, foreignPid here) first: its death kills the namespace;
  // unshare's does not. A leftover would hold the job user's uid, and the next executor started with
  // that user would refuse to start.
  for (const pid of [foreignPid, container?.pid ?? 0].filter(Boolean)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (foreignPid)
    await eventually(() => !alive(foreignPid), { timeoutMs: 10_000, what: 'the container gone' });
  await h?.stop();
});

describe('a uid shared with a container', () => {
  it('a job that ends (with a setsid escapee of its own) kills its escapee, never the container', async () => {
    await pyJob(
      h,
      'escapee',
      [
        'import os, time',
        'out = os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "escapee.pid")',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        '        open(out + ".tmp", "w").write(str(os.getpid()))',
        '        os.rename(out + ".tmp", out)',
        '        os.execve("/bin/sleep", ["sleep", "600"], {})',
        '    os._exit(0)',
        'while not os.path.exists(out): time.sleep(0.01)',
        'print("left a daemon behind")',
      ].join('\n'),
    );
    const r = await h.terminal('escapee');
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    const escapee = Number(readFileSync(join(h.dataDir, 'jobs', 'escapee', 'output', 'escapee.pid'), 'utf8'));
    expect(alive(escapee)).toBe(false);
    expect(alive(foreignPid)).toBe(true);
  });

  it('a job that fails and one that times out leave the container alone', async () => {
    await pyJob(h, 'fails', 'raise SystemExit(3)');
    expect(await h.terminal('fails')).toMatchObject({ state: 'FAILED', exitCode: 3 });
    await pyJob(h, 'slow', 'import time; time.sleep(60)', { limits: { timeoutSeconds: 1 } });
    expect(await h.terminal('slow')).toMatchObject({ state: 'TIMED_OUT' });
    expect(alive(foreignPid)).toBe(true);
  });

  it.skipIf(!existsSync(entry))(
    'the executor refuses to start while the uid is in use, naming the processes',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-uid-'));
      chmodSync(dataDir, 0o755);
      try {
        const p = startServiceProcess(entry, {
          env: {
            EDGEFLEET_DATA_DIR: dataDir,
            EDGEFLEET_JOB_USER: USER,
            EDGEFLEET_REDIS_URL: h.redisServer.url,
          },
        });
        expect(await p.exited).toBe(1);
        expect(p.output()).toContain(
          `job-executor: job user ${USER} (uid ${h.jobUser.uid}) is used by processes that are not this executor's: `,
        );
        expect(p.output()).toContain(`${foreignPid} (sleep)`);
        expect(p.output()).toContain('EDGEFLEET_JOB_USER');
        expect(p.output()).not.toMatch(/\n\s+at /);
        expect(alive(foreignPid)).toBe(true);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
