// Hostile job: code that glibc or the dynamic loader would run while the launcher is still root.
// The job ships a shared object and names it in its `env` (GCONV_PATH + a UTF-8 locale; LD_* is refused by the message schema);
// the object records the effective uid of every process that loads it. The root part of the launch
// must never load it (no record of uid 0); the job itself may (records of the job user's uid), and
// the job ends as it would without the attack. Real executor, redis-server, fauxqs, /usr/bin/python3.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type Harness, startHarness } from '../support/harness.js';
import { HAVE_CC, recordFile, uidRecorderSo } from '../support/native.js';

let h: Harness;
let so: Buffer;
beforeAll(async () => {
  if (!HAVE_CC) return;
  h = await startHarness({ user: 'ef-hostile-env' });
  so = uidRecorderSo();
});
afterAll(async () => {
  await h?.stop();
});

async function shipGconvJob(jobId: string, env: (work: string) => Record<string, string>) {
  await h.put(`${jobId}/main.py`, 'print("job ran")');
  await h.put(`${jobId}/lib/evil.so`, so);
  // glibc's gconv-modules format: this module claims the UTF-8 <-> INTERNAL conversions.
  await h.put(
    `${jobId}/lib/gconv-modules`,
    'module  INTERNAL  UTF-8//  evil  1\nmodule  UTF-8//  INTERNAL  evil  1\n',
  );
  const work = join(h.dataDir, 'jobs', jobId, 'work');
  return h.submit({
    jobId,
    inputs: [{ uri: `s3://${BUCKET}/${jobId}/main.py` }, { uri: `s3://${BUCKET}/${jobId}/lib/` }],
    env: env(work),
  });
}

describe.skipIf(!HAVE_CC)('a job env naming code to load (no C compiler: cannot build the module)', () => {
  it('a gconv module (GCONV_PATH + LC_ALL=C.UTF-8) never runs as root; the job succeeds', async () => {
    const rec = recordFile();
    await shipGconvJob('gconv', (work) => ({
      GCONV_PATH: join(work, 'lib'),
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
      RECORD: rec.path,
    }));
    const r = await h.terminal('gconv');
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    const uids = rec.uids();
    expect(uids).not.toContain(0);
    // The module was loaded by the job's own python, as the job user: the attack's code did run, unprivileged.
    expect(uids).toContain(h.jobUser.uid);
  });

  it('PYTHON* variables (PYTHONPATH, PYTHONSTARTUP) reach only the job', async () => {
    const rec = recordFile();
    await h.put('pyvars/main.py', 'import sys; print(sys.flags.isolated)');
    await h.put(
      'pyvars/hook/sitecustomize.py',
      `import os\nwith open(${JSON.stringify(rec.path)}, "a") as f: f.write(f"{os.geteuid()}\\n")\n`,
    );
    const work = join(h.dataDir, 'jobs', 'pyvars', 'work');
    await h.submit({
      jobId: 'pyvars',
      inputs: [{ uri: `s3://${BUCKET}/pyvars/main.py` }, { uri: `s3://${BUCKET}/pyvars/hook/` }],
      env: { PYTHONPATH: join(work, 'hook'), PYTHONSTARTUP: join(work, 'hook', 'sitecustomize.py') },
    });
    const r = await h.terminal('pyvars');
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect(rec.uids()).not.toContain(0);
    expect(rec.uids()).toContain(h.jobUser.uid);
  });

  it('the job env still reaches the job process', async () => {
    await h.put('envseen/main.py', 'import os; print(os.environ["SEEN"])');
    await h.submit({
      jobId: 'envseen',
      inputs: [{ uri: `s3://${BUCKET}/envseen/main.py` }],
      env: { SEEN: 'value-from-the-job' },
    });
    const r = await h.terminal('envseen');
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
  });
});
