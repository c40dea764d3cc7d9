// The pure core: workspace planning, limits, outcomes, the phase machine and the job environment.
import { describe, expect, it } from 'vitest';
import { diskVerdict, FULL_BELOW_BYTES } from '../src/core/disk-budget.js';
import { buildJobEnv } from '../src/core/job-env.js';
import { diskShortfall, effectiveLimits } from '../src/core/limits.js';
import { runOutcome } from '../src/core/outcome.js';
import { DOWNLOAD_CRASH_ALLOWANCE, decideStart } from '../src/core/phases.js';
import { type ListedInput, planWorkspace } from '../src/core/workspace-plan.js';

const limits = { maxFiles: 100, maxBytes: 1000 };
const obj = (uri: string, size = 1, path?: string): ListedInput => {
  const [, bucket = '', key = ''] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) ?? [];
  return {
    input: { uri, ...(path ? { path } : {}) },
    bucket,
    key,
    isPrefix: false,
    objects: [{ key, size }],
  };
};
const prefix = (uri: string, keys: string[], path?: string): ListedInput => {
  const [, bucket = '', key = ''] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri) ?? [];
  return {
    input: { uri, ...(path ? { path } : {}) },
    bucket,
    key,
    isPrefix: true,
    objects: keys.map((k) => ({ key: k, size: 1 })),
  };
};

describe('planWorkspace', () => {
  it('lays objects flat at their basename, prefixes as folders with structure kept', () => {
    const p = planWorkspace(
      [
        obj('s3://b/code/main.py'),
        obj('s3://b/data/x/model.h5'),
        prefix('s3://b/datasets/run1/', ['datasets/run1/a.png', 'datasets/run1/sub/b.png', 'datasets/run1/']),
        prefix('s3://b/more/', ['more/c.txt'], 'imgs/'),
        obj('s3://b/w/weights.bin', 5, 'models/w.bin'),
      ],
      limits,
    );
    expect(p.ok && p.files.map((f) => f.target)).toEqual([
      'main.py',
      'model.h5',
      'run1/a.png',
      'run1/sub/b.png',
      'imgs/c.txt',
      'models/w.bin',
    ]);
    expect(p.ok && p.totalBytes).toBe(10);
  });

  it('a bucket-root prefix lands at the workspace root', () => {
    const p = planWorkspace([prefix('s3://b/', ['x.py', 'd/y.py'])], limits);
    expect(p.ok && p.files.map((f) => f.target)).toEqual(['x.py', 'd/y.py']);
  });

  it.each([
    ['a bare ..', 'p/..'],
    ['a .. segment', 'p/a/../../x'],
    ['a trailing ..', 'p/a/..'],
    ['an absolute rest', 'p//etc/passwd'],
    ['a NUL', 'p/a\u0000b'],
    ['a control character', 'p/a\nb'],
    ['a backslash', 'p/..\\..\\x'],
    ['a . segment', 'p/./x'],
    ['an over-long segment', `p/${'a'.repeat(256)}`],
  ])('refuses a listed key with %s (UNSAFE_PATH)', (_n, key) => {
    const p = planWorkspace([prefix('s3://b/p/', ['p/ok.txt', key])], limits);
    expect(p).toMatchObject({ ok: false, code: 'UNSAFE_PATH' });
  });

  it('refuses a key outside its prefix', () => {
    expect(planWorkspace([prefix('s3://b/p/', ['q/x'])], limits)).toMatchObject({
      ok: false,
      code: 'UNSAFE_PATH',
    });
  });

  it('refuses unsafe explicit paths', () => {
    for (const path of ['../x', '/abs', 'a/../../b', '..'])
      expect(planWorkspace([obj('s3://b/x', 1, path)], limits)).toMatchObject({
        ok: false,
        code: 'UNSAFE_PATH',
      });
  });

  it('names both inputs of a collision (same file, file vs folder)', () => {
    const same = planWorkspace([obj('s3://b/a/cfg.json'), obj('s3://b/b/cfg.json')], limits);
    expect(same).toMatchObject({ ok: false, code: 'INPUT_COLLISION' });
    expect(!same.ok && same.detail).toMatch(
      /inputs\[0\] s3:\/\/b\/a\/cfg.json.*inputs\[1\] s3:\/\/b\/b\/cfg.json/,
    );
    const dir = planWorkspace(
      [obj('s3://b/x/images'), prefix('s3://b/pics/', ['pics/1.png'], 'images/')],
      limits,
    );
    expect(dir).toMatchObject({ ok: false, code: 'INPUT_COLLISION' });
    expect(!dir.ok && dir.detail).toMatch(/is a file where/);
    const viaPrefixes = planWorkspace(
      [prefix('s3://b/p/', ['p/a.txt'], 'd/'), prefix('s3://b/q/', ['q/a.txt'], 'd/')],
      limits,
    );
    expect(viaPrefixes).toMatchObject({ ok: false, code: 'INPUT_COLLISION' });
  });

  it('enforces count and size limits', () => {
    expect(
      planWorkspace([prefix('s3://b/p/', ['p/1', 'p/2', 'p/3'])], { maxFiles: 2, maxBytes: 100 }),
    ).toMatchObject({
      ok: false,
      code: 'TOO_MANY_INPUTS',
    });
    expect(planWorkspace([obj('s3://b/x', 101)], { maxFiles: 2, maxBytes: 100 })).toMatchObject({
      ok: false,
      code: 'INPUT_TOO_LARGE',
    });
  });

  it('a missing object or an empty prefix is INPUT_NOT_FOUND', () => {
    expect(planWorkspace([{ ...obj('s3://b/x'), objects: [] }], limits)).toMatchObject({
      code: 'INPUT_NOT_FOUND',
    });
    expect(planWorkspace([prefix('s3://b/p/', [])], limits)).toMatchObject({ code: 'INPUT_NOT_FOUND' });
  });
});

describe('limits', () => {
  it('uses the job values, else the device defaults, in ms and bytes', () => {
    const d = {
      defaultTimeoutSeconds: 60,
      defaultInstallTimeoutSeconds: 30,
      defaultMemoryMiB: 0,
      defaultOutputMiB: 100,
    };
    expect(effectiveLimits({}, d)).toEqual({
      timeoutMs: 60_000,
      installTimeoutMs: 30_000,
      memoryBytes: undefined,
      outputBytes: 100 * 1024 * 1024,
    });
    expect(effectiveLimits({ timeoutSeconds: 2, memoryMiB: 16, outputMiB: 3 }, d)).toMatchObject({
      timeoutMs: 2000,
      memoryBytes: 16 * 1024 * 1024,
      outputBytes: 3 * 1024 * 1024,
    });
  });
  it('a running job: over its quota → OUTPUT_LIMIT, below the device reserve → DISK_FULL', () => {
    const reserve = 2 * FULL_BELOW_BYTES;
    const b = { quotaBytes: 1000, reserveBytes: reserve };
    expect(diskVerdict({ jobBytes: 1000, freeBytes: reserve }, b)).toBeNull();
    expect(diskVerdict({ jobBytes: 1001, freeBytes: 2 * reserve }, b)?.reason).toBe('OUTPUT_LIMIT');
    expect(diskVerdict({ jobBytes: 10, freeBytes: reserve - 1 }, b)?.reason).toBe('DISK_FULL');
    expect(diskVerdict({ jobBytes: 2000, freeBytes: 0 }, b)?.reason).toBe('OUTPUT_LIMIT');
  });
  it('nothing left for job code (it met the filesystem reserve) → DISK_FULL, even with no reserve set', () => {
    const b = { quotaBytes: 1000, reserveBytes: 0 };
    expect(diskVerdict({ jobBytes: 10, freeBytes: FULL_BELOW_BYTES }, b)).toBeNull();
    expect(diskVerdict({ jobBytes: 10, freeBytes: FULL_BELOW_BYTES - 1 }, b)).toMatchObject({
      reason: 'DISK_FULL',
      detail: expect.stringMatching(/full \(the rest is the filesystem's reserve\)/),
    });
  });
  it('needs the inputs plus the reserve to be free', () => {
    expect(diskShortfall(100, 50, 50)).toBeNull();
    expect(diskShortfall(100, 51, 50)).toMatch(/100 bytes free/);
  });
});

describe('runOutcome', () => {
  const l = { timeoutMs: 1000, maxLogBytes: 10 };
  it.each([
    [{ exitCode: 0, signal: null }, 'SUCCEEDED', undefined],
    [{ exitCode: 2, signal: null }, 'FAILED', 'EXIT_NONZERO'],
    [{ exitCode: null, signal: 'SIGSEGV' }, 'FAILED', 'KILLED_BY_SIGNAL'],
    [{ exitCode: null, signal: 'SIGKILL', oomKilled: true }, 'FAILED', 'MEMORY_LIMIT'],
    [{ exitCode: 1, signal: null, memoryError: true }, 'FAILED', 'MEMORY_LIMIT'],
    [{ exitCode: null, signal: 'SIGKILL', stoppedFor: 'timeout' as const }, 'TIMED_OUT', 'TIMEOUT'],
    [{ exitCode: null, signal: 'SIGTERM', stoppedFor: 'cancel' as const }, 'CANCELED', 'CANCELED_BY_REQUEST'],
    [{ exitCode: null, signal: 'SIGTERM', stoppedFor: 'output-limit' as const }, 'FAILED', 'OUTPUT_LIMIT'],
    [{ exitCode: 0, signal: null, stoppedFor: 'timeout' as const }, 'TIMED_OUT', 'TIMEOUT'],
    [{ exitCode: null, signal: null, spawnError: 'ENOENT' }, 'FAILED', 'INTERNAL_ERROR'],
  ])('%j → %s %s', (facts, state, reason) => {
    const o = runOutcome(facts, l);
    expect(o.state).toBe(state);
    expect(o.reason).toBe(reason);
  });
});

describe('decideStart', () => {
  it.each([
    [null, 'missing'],
    [{ state: 'CANCELED', attempt: 0, cancelRequested: true }, 'ack'],
    [{ state: 'SUCCEEDED', attempt: 1, cancelRequested: false }, 'ack'],
    [{ state: 'UPLOADING', attempt: 1, cancelRequested: false }, 'ack'],
    [{ state: 'QUEUED', attempt: 0, cancelRequested: false }, 'run'],
    [{ state: 'QUEUED', attempt: 0, cancelRequested: true }, 'cancel-queued'],
    [{ state: 'RUNNING', attempt: 1, cancelRequested: false }, 'run'],
    [{ state: 'RUNNING', attempt: 1, cancelRequested: true }, 'cancel-started'],
    [{ state: 'INSTALLING', attempt: 2, cancelRequested: false }, 'exhausted'],
    [{ state: 'RUNNING', attempt: 1, cancelRequested: false, handedOff: true }, 'ack'],
  ] as const)('%j → %s', (rec, kind) => {
    expect(decideStart(rec, 2).kind).toBe(kind);
  });
  it('does not count attempts that crashed before any job code ran against maxAttempts, within a bound', () => {
    // Crashed while DOWNLOADING (e.g. restarts during a long S3 outage): runs again.
    expect(decideStart({ state: 'DOWNLOADING', attempt: 2, cancelRequested: false }, 2).kind).toBe('run');
    expect(
      decideStart(
        { state: 'DOWNLOADING', attempt: 2 + DOWNLOAD_CRASH_ALLOWANCE - 1, cancelRequested: false },
        2,
      ).kind,
    ).toBe('run');
    expect(
      decideStart({ state: 'DOWNLOADING', attempt: 2 + DOWNLOAD_CRASH_ALLOWANCE, cancelRequested: false }, 2),
    ).toEqual({ kind: 'exhausted', attempts: 2 + DOWNLOAD_CRASH_ALLOWANCE });
    // Job code ran (INSTALLING / RUNNING): maxAttempts holds.
    expect(decideStart({ state: 'RUNNING', attempt: 2, cancelRequested: false }, 2).kind).toBe('exhausted');
  });
  it('marks a reclaimed attempt as a re-run', () => {
    expect(decideStart({ state: 'DOWNLOADING', attempt: 1, cancelRequested: false }, 2)).toEqual({
      kind: 'run',
      from: 'DOWNLOADING',
      rerun: true,
    });
  });
});

describe('buildJobEnv', () => {
  it('passes only allowlisted names, never credentials, and sets the job variables last', () => {
    const env = buildJobEnv({
      jobId: 'j1',
      jobDir: '/d/jobs/j1',
      outputDir: '/d/jobs/j1/output',
      tmpDir: '/d/jobs/j1/tmp',
      venvDir: '/v',
      user: 'edgefleet-job',
      serviceEnv: {
        LANG: 'C.UTF-8',
        AWS_SECRET_ACCESS_KEY: 's',
        EDGEFLEET_REDIS_PASSWORD: 'p',
        CUDA_VISIBLE_DEVICES: '0',
        HOSTNAME: 'h',
      },
      passthrough: ['LANG', 'CUDA_VISIBLE_DEVICES', 'AWS_SECRET_ACCESS_KEY', 'EDGEFLEET_REDIS_PASSWORD'],
      jobEnv: { MODEL: 'yolo' },
    });
    expect(env).toEqual({
      LANG: 'C.UTF-8',
      CUDA_VISIBLE_DEVICES: '0',
      MODEL: 'yolo',
      PATH: '/v/bin:/usr/local/bin:/usr/bin:/bin',
      HOME: '/d/jobs/j1',
      USER: 'edgefleet-job',
      LOGNAME: 'edgefleet-job',
      VIRTUAL_ENV: '/v',
      PYTHONUNBUFFERED: '1',
      EDGEFLEET_JOB_ID: 'j1',
      EDGEFLEET_OUTPUT_DIR: '/d/jobs/j1/output',
      TMPDIR: '/d/jobs/j1/tmp',
      TMP: '/d/jobs/j1/tmp',
      TEMP: '/d/jobs/j1/tmp',
    });
  });
});
