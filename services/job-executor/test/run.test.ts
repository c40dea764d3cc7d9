// End to end in-process: real redis-server, fauxqs and python; jobs run as this file's own user.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { encodeEntry, JobMessageV1, type JobsEntry } from '@edgefleet/contracts';
import { transitionJob } from '@edgefleet/service-kit';
import { buildWheel, eventually, type FaultProxy, logSink, startFaultProxy } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeviceLoad } from '../src/adapters/device-load.js';
import { BUCKET, type Harness, pyJob, startHarness } from './support/harness.js';

let h: Harness;
const sink = logSink('info');
beforeAll(async () => {
  h = await startHarness({ user: 'ef-exec-run', logger: sink.logger });
});
afterAll(async () => {
  await h?.stop();
});

const stderrOf = (jobDir: string) => readFile(join(jobDir, 'logs', 'stderr.log'), 'utf8').catch(() => '');
const stdoutOf = (jobDir: string) => readFile(join(jobDir, 'logs', 'stdout.log'), 'utf8').catch(() => '');

describe('a job whose files sit in three S3 folders', () => {
  it('downloads them side by side, runs as the job user and hands the result to the uploader', async () => {
    const id = 'three-folders-1';
    await h.put(
      'code/v1/main.py',
      [
        'import os, json',
        'data = open("data.csv").read()',
        'cfg = json.load(open("config.json"))',
        'imgs = sorted(os.listdir("images"))',
        'nested = open("images/sub/c.txt").read()',
        'out = os.environ["EDGEFLEET_OUTPUT_DIR"]',
        'open(os.path.join(out, "result.txt"), "w").write(f"{data.strip()}|{cfg[\'k\']}|{imgs}|{nested}|{os.getuid()}")',
        'print("done", os.getcwd())',
      ].join('\n'),
    );
    await h.put('datasets/2026/data.csv', 'a,b\n1,2\n');
    await h.put('configs/prod/config.json', '{"k": 7}');
    await h.put('pictures/run1/a.png', 'A');
    await h.put('pictures/run1/b.png', 'B');
    await h.put('pictures/run1/sub/c.txt', 'C');
    await h.submit({
      jobId: id,
      inputs: [
        { uri: `s3://${BUCKET}/code/v1/main.py` },
        { uri: `s3://${BUCKET}/datasets/2026/data.csv` },
        { uri: `s3://${BUCKET}/configs/prod/config.json` },
        { uri: `s3://${BUCKET}/pictures/run1/`, path: 'images/' },
      ],
      notify: { onRunning: true },
    });
    const r = await h.terminal(id);
    expect({ ...r, stderr: await stderrOf(r.jobDir!) }).toMatchObject({
      stderr: '',
      state: 'SUCCEEDED',
      exitCode: 0,
      hasFiles: true,
      attempt: 1,
      node: 'test-node',
    });
    expect(r.jobDir).toBe(join(h.dataDir, 'jobs', id));
    const out = await readFile(join(r.jobDir!, 'output', 'result.txt'), 'utf8');
    expect(out).toBe(`a,b\n1,2|7|['a.png', 'b.png', 'sub']|C|${h.jobUser.uid}`);
    expect(await stdoutOf(r.jobDir!)).toContain('done');
    const rec = await h.record(id);
    expect(rec.state).toBe('RUNNING'); // the uploader records UPLOADING and the terminal state
    expect(rec.attempt).toBe('1');
    const hist = (await h.redis.lrange(h.names.historyKey(id), 0, -1)).map((x) => JSON.parse(x).state);
    expect(hist).toEqual(['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING']);
    expect((await h.results(id)).map((e) => e.event)).toEqual(['running', 'terminal']);
    const pending = (await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number];
    expect(pending[0]).toBe(0); // acknowledged atomically with the result
    expect(r.timings.runMs).toBeGreaterThan(0);
    expect(await h.leftovers(id)).toEqual([]);
    const tail = (await h.redis.xrange(h.names.logTailKey(id), '-', '+')) as [string, string[]][];
    expect(tail.map(([, f]) => f.join(' ')).join('')).toContain('stream stdout data done');
    expect(await h.redis.ttl(h.names.logTailKey(id))).toBeGreaterThan(0);
  });
});

describe('the job environment', () => {
  it('holds the allowlist, the job env and the job ids, and no credential or secret', async () => {
    const id = 'env-print-1';
    await pyJob(h, id, 'import os, json\nprint(json.dumps(dict(os.environ)))', { env: { MODEL: 'yolo' } });
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    const text = await stdoutOf(r.jobDir!);
    const env = JSON.parse(text) as Record<string, string>;
    expect(env.MODEL).toBe('yolo');
    expect(env.EDGEFLEET_JOB_ID).toBe(id);
    expect(env.EDGEFLEET_OUTPUT_DIR).toBe(join(r.jobDir!, 'output'));
    expect(env.HOME).toBe(r.jobDir);
    expect(Object.keys(env).filter((k) => /^AWS_|PASSWORD|TOKEN|SECRET/.test(k))).toEqual([]);
    expect(
      Object.keys(env)
        .filter((k) => k.startsWith('EDGEFLEET_'))
        .sort(),
    ).toEqual(['EDGEFLEET_JOB_ID', 'EDGEFLEET_OUTPUT_DIR']);
    expect(text).not.toMatch(/very-secret/);
    expect(sink.text()).not.toMatch(/very-secret/);
  });
});

describe('cgroups', () => {
  it('the job runs inside its own cgroups (joined by the launcher), removed once it is over', async (ctx) => {
    if (!h.cgroups.v2 && !h.cgroups.v1Memory && !h.cgroups.v1Pids)
      ctx.skip(`no writable cgroup (v1 or v2) on this machine (${h.cgroups.summary})`);
    const id = 'cgroup-join';
    await pyJob(h, id, 'print(open("/proc/self/cgroup").read())', { limits: { memoryMiB: 128 } });
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    const text = await stdoutOf(r.jobDir!);
    const expected = [
      ...(h.cgroups.v2 ? [/^0::\/edgefleet\/cgroup-join$/m] : []),
      ...(h.cgroups.v1Memory ? [/:memory:\/edgefleet\/cgroup-join$/m] : []),
      ...(h.cgroups.v1Pids ? [/:pids:\/edgefleet\/cgroup-join$/m] : []),
    ];
    for (const re of expected) expect(text).toMatch(re);
    // The job's cgroups are removed once it is over.
    for (const base of [h.cgroups.v2?.base, h.cgroups.v1Memory, h.cgroups.v1Pids])
      if (base) expect(await stat(join(base, id)).catch(() => null)).toBeNull();
  });
});

describe('run outcomes', () => {
  it('nonzero exit → FAILED EXIT_NONZERO', async () => {
    const id = 'exit-3';
    await pyJob(h, id, 'import sys\nprint("bye", file=sys.stderr)\nsys.exit(3)');
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 });
    expect(await stderrOf(r.jobDir!)).toContain('bye');
  });

  it('timeout → SIGTERM, grace, SIGKILL of a job that ignores SIGTERM → TIMED_OUT', async () => {
    const id = 'timeout-1';
    await pyJob(
      h,
      id,
      'import signal, time, os\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nif os.fork() == 0:\n    time.sleep(600)\ntime.sleep(600)',
      { limits: { timeoutSeconds: 1 } },
    );
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'TIMED_OUT', reason: 'TIMEOUT', signal: 'SIGKILL' });
    expect(r.timings.runMs).toBeLessThan(10_000);
    expect(await h.leftovers(id)).toEqual([]);
  });

  it('a child that escapes its process group with setsid is killed too', async () => {
    const id = 'setsid-escape';
    await pyJob(
      h,
      id,
      [
        'import os, time',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        '        time.sleep(600)',
        '    os._exit(0)',
        'time.sleep(0.3)',
        'print("parent leaves", flush=True)',
      ].join('\n'),
    );
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    expect(await h.leftovers(id)).toEqual([]);
  });

  it('a fork bomb is bounded by the process-count limit and leaves nothing behind', async () => {
    const id = 'fork-bomb';
    await pyJob(
      h,
      id,
      [
        'import os, time',
        'n = 0',
        'try:',
        '    while n < 5000:',
        '        if os.fork() == 0:',
        '            time.sleep(600)',
        '            os._exit(0)',
        '        n += 1',
        'except OSError as e:',
        '    print("forked", n, type(e).__name__, flush=True)',
        '    raise SystemExit(3)',
        'print("forked", n, "unbounded", flush=True)',
      ].join('\n'),
    );
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 });
    const m = /forked (\d+) BlockingIOError/.exec(await stdoutOf(r.jobDir!));
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(h.settings.maxProcesses);
    expect(await h.leftovers(id)).toEqual([]);
  });

  it('an output flood is cut at the cap and stopped → FAILED OUTPUT_LIMIT', async () => {
    const id = 'flood';
    await pyJob(h, id, 'import sys\nwhile True:\n    sys.stdout.write("x" * 65536)');
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'OUTPUT_LIMIT' });
    const size = (await stat(join(r.jobDir!, 'logs', 'stdout.log'))).size;
    expect(size).toBeGreaterThanOrEqual(h.settings.maxLogBytes);
    expect(size).toBeLessThan(h.settings.maxLogBytes + 200);
    expect(await stdoutOf(r.jobDir!)).toMatch(/output truncated after/);
    expect(await h.leftovers(id)).toEqual([]);
  });

  it('a memory blow-up is stopped by the cgroup memory limit → FAILED MEMORY_LIMIT', async (ctx) => {
    if (!h.cgroups.v2?.memory && !h.cgroups.v1Memory)
      ctx.skip('no writable memory cgroup (v1 or v2) on this machine');
    const id = 'memory-cgroup';
    await pyJob(h, id, 'chunks = []\nwhile True:\n    chunks.append(b"x" * (8 * 1024 * 1024))', {
      limits: { memoryMiB: 64 },
    });
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'MEMORY_LIMIT' });
    expect(await h.leftovers(id)).toEqual([]);
  });

  it('cancel mid-run (control channel) stops every process within seconds → CANCELED', async () => {
    const id = 'cancel-run';
    await pyJob(h, id, 'import os, time\nos.fork()\nprint("started", flush=True)\ntime.sleep(600)');
    await eventually(async () => (await h.record(id)).state === 'RUNNING', {
      timeoutMs: 20_000,
      what: 'RUNNING',
    });
    await eventually(
      async () => {
        const tail = (await h.redis.xrange(h.names.logTailKey(id), '-', '+')) as [string, string[]][];
        return tail.some(([, f]) => f.join(' ').includes('started'));
      },
      { timeoutMs: 20_000, what: 'user code started' },
    ).catch(async (e) => {
      const dir = join(h.dataDir, 'jobs', id);
      const pids = await h.leftovers(id);
      const fs = await import('node:fs');
      const procs = pids.map((p) => {
        try {
          return `${p}: ${fs.readFileSync(`/proc/${p}/stat`, 'utf8').slice(0, 80)} wchan=${fs.readFileSync(`/proc/${p}/wchan`, 'utf8')} cmd=${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200)}`;
        } catch {
          return String(p);
        }
      });
      throw new Error(
        `${(e as Error).message}\nrecord=${JSON.stringify(await h.record(id))}\nstdout=${await stdoutOf(dir)}\nstderr=${await stderrOf(dir)}\nprocs=${procs.join('\n')}`,
      );
    });
    const t = Date.now();
    await h.cancel(id);
    const r = await h.terminal(id);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', hasFiles: true });
    expect(await h.leftovers(id)).toEqual([]);
  });
});

describe('cancel before the run', () => {
  it('cancel while INSTALLING (pip stuck on a silent server) → CANCELED within seconds', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const id = 'cancel-install';
      await h.put(`${id}/requirements.txt`, `stuck @ http://127.0.0.1:${port}/stuck-1.0-py3-none-any.whl\n`);
      await pyJob(h, id, 'print("never")', {
        code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
        inputs: [{ uri: `s3://${BUCKET}/${id}/main.py` }, { uri: `s3://${BUCKET}/${id}/requirements.txt` }],
      });
      await eventually(async () => sockets.length > 0 && (await h.record(id)).state === 'INSTALLING', {
        timeoutMs: 20_000,
        what: 'pip connected',
      });
      const t = Date.now();
      await h.cancel(id);
      const r = await h.terminal(id);
      expect(Date.now() - t).toBeLessThan(8000);
      expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', hasFiles: true });
      expect(await h.leftovers(id)).toEqual([]);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('cancel while downloading', () => {
  it('cancel while DOWNLOADING (S3 holds an input) → CANCELED within seconds, nothing half-written kept', async () => {
    let proxy: FaultProxy | undefined;
    const h2 = await startHarness({
      // A user of its own: the executor refuses to start while its job user's uid is in use.
      user: 'ef-exec-run-s3',
      logger: sink.logger,
      s3Client: async (emu) => {
        proxy = await startFaultProxy(emu.endpoint);
        return new S3Client({
          endpoint: proxy.url,
          region: emu.region,
          credentials: emu.credentials,
          forcePathStyle: true,
        });
      },
    });
    const p = proxy as FaultProxy | undefined;
    if (!p) throw new Error('fault proxy not started');
    try {
      const id = 'cancel-download';
      const held = p.addRule({
        match: (r) => r.method === 'GET' && r.url.includes(`/${id}/data.bin`),
        action: { kind: 'hold' },
      });
      await h2.put(`${id}/data.bin`, Buffer.alloc(64 * 1024, 7));
      await pyJob(h2, id, 'print("never")', {
        inputs: [{ uri: `s3://${BUCKET}/${id}/main.py` }, { uri: `s3://${BUCKET}/${id}/data.bin` }],
      });
      await held.waitForHits(1, 20_000);
      expect((await h2.record(id)).state).toBe('DOWNLOADING');
      const t = Date.now();
      await h2.cancel(id);
      const r = await h2.terminal(id);
      expect(Date.now() - t).toBeLessThan(8000);
      expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' });
      expect(await h2.leftovers(id)).toEqual([]);
      // The held download never completed: no partial input is presented as the file.
      const inputs = join(h2.dataDir, 'jobs', id, 'work', 'data.bin');
      await expect(stat(inputs)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await h2.results(id)).filter((e) => e.event === 'terminal')).toHaveLength(1);
    } finally {
      p.releaseHeld();
      await h2.stop();
      await p.close();
    }
  });
});

describe('records that decide before running', () => {
  const entryFor = (jobId: string): string[] => {
    const message = JobMessageV1.parse({
      version: 1,
      kind: 'job',
      jobId,
      code: { entrypoint: 'main.py' },
      inputs: [{ uri: `s3://${BUCKET}/${jobId}/main.py` }],
      output: { uri: `s3://${BUCKET}/out/` },
    });
    const e: JobsEntry = { jobId, message, receivedAt: Date.now(), source: 'replay' };
    return encodeEntry(e);
  };
  const move = (
    jobId: string,
    to: 'QUEUED' | 'DOWNLOADING' | 'INSTALLING' | 'RUNNING' | 'CANCELED',
    incr = false,
  ) => transitionJob(h.redis, h.names, { jobId, to, by: 'test', now: Date.now(), incrAttempt: incr });

  it('a job canceled while queued is acknowledged without running', async () => {
    const id = 'canceled-first';
    await move(id, 'CANCELED');
    const entryId = await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    await eventually(async () => {
      const groups = (await h.redis.xinfo('GROUPS', h.names.jobsStream)) as unknown[][];
      const delivered = groups[0]?.[groups[0].indexOf('last-delivered-id') + 1];
      const pending = (await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number];
      return delivered === entryId && pending[0] === 0;
    });
    expect(await h.results(id)).toEqual([]);
    expect(await h.record(id)).toMatchObject({ state: 'CANCELED', attempt: '0' });
  });

  it('a queued job whose record asks for cancel ends CANCELED without running (nothing to upload)', async () => {
    const id = 'cancel-flag-queued';
    await move(id, 'QUEUED');
    await h.redis.hset(h.names.jobKey(id), 'cancelRequested', '1');
    await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    const r = await h.terminal(id);
    expect(r).toMatchObject({
      state: 'CANCELED',
      reason: 'CANCELED_BY_REQUEST',
      hasFiles: false,
      attempt: 0,
    });
    expect((await h.record(id)).state).toBe('CANCELED');
  });

  it('a crashed attempt runs again from a clean workspace, with the reason in history', async () => {
    const id = 'rerun-1';
    await h.put(`${id}/main.py`, 'print("second attempt")');
    await move(id, 'QUEUED');
    await move(id, 'DOWNLOADING', true);
    await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    const hist = (await h.redis.lrange(h.names.historyKey(id), 0, -1)).map((x) => JSON.parse(x));
    expect(hist.at(-3)).toMatchObject({ state: 'DOWNLOADING', reason: 'EXECUTOR_CRASHED' });
  });

  it('attempts that crashed while downloading (no job code ran) do not use up the attempts', async () => {
    const id = 'download-crashes-1';
    await h.put(`${id}/main.py`, 'print("third attempt")');
    await move(id, 'QUEUED');
    await move(id, 'DOWNLOADING', true);
    await move(id, 'DOWNLOADING', true);
    await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 3 });
  });

  it('a job whose attempts are used ends FAILED ATTEMPTS_EXHAUSTED, exactly once', async () => {
    const id = 'exhausted-1';
    await move(id, 'QUEUED');
    await move(id, 'DOWNLOADING', true);
    await move(id, 'DOWNLOADING', true);
    // The second attempt got as far as running job code.
    await move(id, 'INSTALLING');
    await move(id, 'RUNNING');
    await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'ATTEMPTS_EXHAUSTED', hasFiles: true });
    expect((await h.results(id)).length).toBe(1);
  });

  it('a duplicate entry for a job whose result was handed off is acknowledged, not re-run', async () => {
    const id = 'three-folders-1'; // finished above; its record stays RUNNING until the uploader moves it
    const before = (await h.results(id)).length;
    const entryId = await h.redis.xadd(h.names.jobsStream, '*', ...entryFor(id));
    await eventually(async () => {
      const groups = (await h.redis.xinfo('GROUPS', h.names.jobsStream)) as unknown[][];
      const delivered = groups[0]?.[groups[0].indexOf('last-delivered-id') + 1];
      const pending = (await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number];
      return delivered === entryId && pending[0] === 0;
    });
    expect(
      (await h.results(id)).map((r) => `${r.event}:${r.state}:${r.reason}:${r.detail}`).slice(before),
    ).toEqual([]);
    expect((await h.record(id)).attempt).toBe('1');
  });
});

describe('environment cache', () => {
  it('a second job with the same requirements hits the cache', async () => {
    const dir = join(h.dataDir, 'wheels');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    const wheel = await buildWheel(
      { name: 'edgefleet-demo', version: '1.0', modules: { 'edgefleet_demo/__init__.py': 'VALUE = 41\n' } },
      dir,
    );
    const wheelName = wheel.split('/').pop()!;
    await h.put(`envcache/${wheelName}`, await readFile(wheel));
    await h.put('envcache/requirements.txt', 'edgefleet-demo==1.0\n');
    await h.put('envcache/main.py', 'import edgefleet_demo\nprint(edgefleet_demo.VALUE + 1)');
    const submit = (jobId: string) =>
      h.submit({
        jobId,
        code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
        inputs: [
          { uri: `s3://${BUCKET}/envcache/main.py` },
          { uri: `s3://${BUCKET}/envcache/requirements.txt` },
          { uri: `s3://${BUCKET}/envcache/${wheelName}` },
        ],
      });
    await submit('envcache-1');
    const r1 = await h.terminal('envcache-1', 60_000);
    expect({ ...r1, out: await stdoutOf(r1.jobDir!), err: await stderrOf(r1.jobDir!) }).toMatchObject({
      state: 'SUCCEEDED',
      out: '42\n',
    });
    await submit('envcache-2');
    const r2 = await h.terminal('envcache-2', 60_000);
    expect(r2.state).toBe('SUCCEEDED');
    const ready = (jobId: string) => sink.find((l) => l.jobId === jobId && l.msg === 'environment ready');
    expect(ready('envcache-1')).toMatchObject({ hit: false });
    expect(ready('envcache-2')).toMatchObject({ hit: true });
    expect(r2.timings.installMs).toBeLessThan(r1.timings.installMs!);
  });
});

describe('device load', () => {
  it('writes running, queued and free disk to the deviceLoad hash', async () => {
    const load = startDeviceLoad({
      redis: h.redis,
      key: h.names.deviceLoad,
      jobsStream: h.names.jobsStream,
      group: 'job-executor',
      dataDir: h.dataDir,
      intervalMs: 60_000,
      logger: sink.logger,
    });
    load.update(1);
    await load.writeNow();
    const v = await h.redis.hgetall(h.names.deviceLoad);
    load.close();
    expect(Number(v.running)).toBe(1);
    expect(Number(v.queued)).toBeGreaterThanOrEqual(0);
    expect(Number(v.freeDiskBytes)).toBeGreaterThan(0);
    expect(Math.abs(Number(v.updatedAt) - Date.now())).toBeLessThan(5000);
  });
});
