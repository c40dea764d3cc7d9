// Hostile and broken inputs: every one is refused or contained with a reason, nothing is written
// outside the job folder. Real fauxqs, redis-server and python.

import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeEntry } from '@edgefleet/contracts';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, FOREIGN_BUCKET, type Harness, pyJob, startHarness } from './support/harness.js';

let h: Harness;
let outside: string;
beforeAll(async () => {
  h = await startHarness({
    user: 'ef-exec-hostile',
    settings: { maxInputBytes: 1024 * 1024, maxInputFiles: 5 },
  });
  outside = join(h.dataDir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'victim.txt'), 'untouched');
  await h.put('ok/main.py', 'print("ran")');
});
afterAll(async () => {
  await h?.stop();
});

const mainInput = { uri: `s3://${BUCKET}/ok/main.py` };
const victimIntact = async () =>
  expect(await readFile(join(outside, 'victim.txt'), 'utf8')).toBe('untouched');

describe('inputs that fail the job with a reason', () => {
  it('a foreign bucket → BUCKET_NOT_ALLOWED, before any request', async () => {
    await h.put('x/data.bin', 'x', FOREIGN_BUCKET);
    await h.submit({ jobId: 'foreign', inputs: [mainInput, { uri: `s3://${FOREIGN_BUCKET}/x/data.bin` }] });
    const r = await h.terminal('foreign');
    expect(r).toMatchObject({ state: 'FAILED', reason: 'BUCKET_NOT_ALLOWED', hasFiles: true });
    expect(r.detail).toContain(FOREIGN_BUCKET);
  });

  it('a missing object → INPUT_NOT_FOUND; an empty prefix too', async () => {
    await h.submit({ jobId: 'missing', inputs: [mainInput, { uri: `s3://${BUCKET}/nope/data.csv` }] });
    expect(await h.terminal('missing')).toMatchObject({ state: 'FAILED', reason: 'INPUT_NOT_FOUND' });
    await h.submit({ jobId: 'missing-prefix', inputs: [mainInput, { uri: `s3://${BUCKET}/nothing-here/` }] });
    expect(await h.terminal('missing-prefix')).toMatchObject({ state: 'FAILED', reason: 'INPUT_NOT_FOUND' });
  });

  it('two inputs on one path → INPUT_COLLISION naming both', async () => {
    await h.put('a/config.json', '{}');
    await h.put('b/config.json', '{}');
    await h.submit({
      jobId: 'collide',
      inputs: [mainInput, { uri: `s3://${BUCKET}/a/config.json` }, { uri: `s3://${BUCKET}/b/config.json` }],
    });
    const r = await h.terminal('collide');
    expect(r).toMatchObject({ state: 'FAILED', reason: 'INPUT_COLLISION' });
    expect(r.detail).toContain(`s3://${BUCKET}/a/config.json`);
    expect(r.detail).toContain(`s3://${BUCKET}/b/config.json`);
  });

  it('a file where a folder lands → INPUT_COLLISION', async () => {
    await h.put('c/images', 'a file called images');
    await h.put('pics/x.png', 'x');
    await h.submit({
      jobId: 'collide-dir',
      inputs: [
        mainInput,
        { uri: `s3://${BUCKET}/c/images` },
        { uri: `s3://${BUCKET}/pics/`, path: 'images/' },
      ],
    });
    const r = await h.terminal('collide-dir');
    expect(r).toMatchObject({ state: 'FAILED', reason: 'INPUT_COLLISION' });
    expect(r.detail).toMatch(/is a file where/);
  });

  it('over the size limit → INPUT_TOO_LARGE; over the count → TOO_MANY_INPUTS', async () => {
    await h.put('big/blob.bin', Buffer.alloc(1024 * 1024 + 1));
    await h.submit({ jobId: 'too-large', inputs: [mainInput, { uri: `s3://${BUCKET}/big/blob.bin` }] });
    expect(await h.terminal('too-large')).toMatchObject({ state: 'FAILED', reason: 'INPUT_TOO_LARGE' });
    for (let i = 0; i < 6; i++) await h.put(`many/f${i}.txt`, String(i));
    await h.submit({ jobId: 'too-many', inputs: [mainInput, { uri: `s3://${BUCKET}/many/` }] });
    expect(await h.terminal('too-many')).toMatchObject({ state: 'FAILED', reason: 'TOO_MANY_INPUTS' });
  });

  it('a wrong sha256 → CHECKSUM_MISMATCH; the right one passes', async () => {
    await h.put('sum/model.bin', 'weights');
    const good = createHash('sha256').update('weights').digest('hex');
    await h.submit({
      jobId: 'sum-bad',
      inputs: [mainInput, { uri: `s3://${BUCKET}/sum/model.bin`, sha256: '0'.repeat(64) }],
    });
    expect(await h.terminal('sum-bad')).toMatchObject({ state: 'FAILED', reason: 'CHECKSUM_MISMATCH' });
    await h.submit({
      jobId: 'sum-good',
      inputs: [mainInput, { uri: `s3://${BUCKET}/sum/model.bin`, sha256: good }],
    });
    expect(await h.terminal('sum-good')).toMatchObject({ state: 'SUCCEEDED' });
  });

  it('a full disk (free space under the reserve) → DISK_FULL before downloading', async () => {
    const before = h.settings.minFreeDiskBytes;
    h.settings.minFreeDiskBytes = Number.MAX_SAFE_INTEGER;
    try {
      await h.submit({ jobId: 'disk-full', inputs: [mainInput] });
      expect(await h.terminal('disk-full')).toMatchObject({ state: 'FAILED', reason: 'DISK_FULL' });
    } finally {
      h.settings.minFreeDiskBytes = before;
    }
    expect(await lstat(join(h.dataDir, 'jobs', 'disk-full', 'work', 'main.py')).catch(() => null)).toBeNull();
  });

  it('no entry script in the workspace → ENTRYPOINT_MISSING', async () => {
    await h.submit({ jobId: 'no-entry', code: { entrypoint: 'run.py' }, inputs: [mainInput] });
    expect(await h.terminal('no-entry')).toMatchObject({ state: 'FAILED', reason: 'ENTRYPOINT_MISSING' });
  });
});

describe('hostile keys under a prefix', () => {
  for (const [name, key] of [
    ['dot-dot segment', 'evil1/a/../../../escape.txt'],
    ['bare ..', 'evil2/..'],
    ['absolute after the prefix', 'evil3//etc/passwd'],
  ] as const) {
    it(`${name}: refused before anything is written (UNSAFE_PATH)`, async () => {
      const prefix = key.split('/')[0]!;
      await h.put(`${prefix}/fine.txt`, 'fine');
      await h.put(key, 'payload');
      const listed = await h.s3.send(
        new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: `${prefix}/`,
        }),
      );
      const keys = (listed.Contents ?? []).map((c) => c.Key);
      const id = `hostile-${prefix}`;
      await h.submit({ jobId: id, inputs: [mainInput, { uri: `s3://${BUCKET}/${prefix}/` }] });
      const r = await h.terminal(id);
      expect(keys).toContain(key); // fauxqs keeps such keys verbatim, as S3 does
      expect(r).toMatchObject({ state: 'FAILED', reason: 'UNSAFE_PATH' });
      expect(r.detail).toContain(JSON.stringify(key));
      // Nothing was downloaded, not even the safe files.
      expect(await lstat(join(r.jobDir!, 'work', prefix, 'fine.txt')).catch(() => null)).toBeNull();
      expect(await lstat(join(h.dataDir, 'escape.txt')).catch(() => null)).toBeNull();
      expect(await lstat(join(h.dataDir, 'jobs', 'escape.txt')).catch(() => null)).toBeNull();
      await victimIntact();
    });
  }

  it('a message with an unsafe path never runs: dead-lettered, FAILED, server notified', async () => {
    const id = 'unsafe-msg';
    await h.redis.hset(h.names.jobKey(id), {
      jobId: id,
      state: 'QUEUED',
      attempt: '0',
      createdAt: String(Date.now()),
    });
    const message = {
      version: 1,
      kind: 'job',
      jobId: id,
      code: { entrypoint: 'main.py' },
      inputs: [{ uri: `s3://${BUCKET}/ok/main.py`, path: '../../main.py' }],
      output: { uri: `s3://${BUCKET}/out/` },
    };
    await h.redis.xadd(
      h.names.jobsStream,
      '*',
      ...encodeEntry({ jobId: id, message, receivedAt: 1, source: 'http' } as { jobId: string }),
    );
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'MALFORMED_ENTRY', hasFiles: false });
    expect((await h.record(id)).state).toBe('FAILED');
    expect(await h.redis.xlen(h.names.deadStream)).toBeGreaterThan(0);
    expect(await lstat(join(h.dataDir, 'jobs', id)).catch(() => null)).toBeNull();
  });
});

describe('a pre-poisoned job folder', () => {
  it('symlinks left in the job folder are removed, never followed', async () => {
    const id = 'poisoned-1';
    const jobDir = join(h.dataDir, 'jobs', id);
    await mkdir(join(jobDir, 'work'), { recursive: true });
    await symlink(join(outside, 'victim.txt'), join(jobDir, 'work', 'main.py'));
    await symlink(outside, join(jobDir, 'logs'));
    await symlink(outside, join(jobDir, 'output'));
    await pyJob(
      h,
      id,
      'import os\nopen(os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "r.txt"), "w").write("hi")',
    );
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    expect((await lstat(join(jobDir, 'work', 'main.py'))).isSymbolicLink()).toBe(false);
    expect((await lstat(join(jobDir, 'output'))).isSymbolicLink()).toBe(false);
    await victimIntact();
    expect(await lstat(join(outside, 'r.txt')).catch(() => null)).toBeNull();
    expect(await lstat(join(outside, 'stdout.log')).catch(() => null)).toBeNull();
  });

  it('a job folder that is itself a symlink is replaced by a real folder', async () => {
    const id = 'poisoned-2';
    await mkdir(join(h.dataDir, 'jobs'), { recursive: true });
    await symlink(outside, join(h.dataDir, 'jobs', id));
    await pyJob(h, id, 'print(1)');
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    expect((await lstat(join(h.dataDir, 'jobs', id))).isSymbolicLink()).toBe(false);
    expect(await lstat(join(outside, 'work')).catch(() => null)).toBeNull();
    await victimIntact();
  });

  it('the job cannot write into its workspace or logs, only output/', async () => {
    const id = 'perm-1';
    await pyJob(
      h,
      id,
      [
        'import os',
        'res = []',
        'for p in ["planted.txt", os.path.join(os.environ["HOME"], "logs", "x"), os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "ok.txt")]:',
        '    try:',
        '        open(p, "w").write("x"); res.append("w")',
        '    except PermissionError:',
        '        res.append("denied")',
        'print(",".join(res))',
      ].join('\n'),
    );
    const r = await h.terminal(id);
    expect(r.state).toBe('SUCCEEDED');
    expect(await readFile(join(r.jobDir!, 'logs', 'stdout.log'), 'utf8')).toBe('denied,denied,w\n');
  });
});

describe('memory limit without cgroups (rlimit mode)', () => {
  it('RLIMIT_AS turns a blow-up into MemoryError → FAILED MEMORY_LIMIT', async () => {
    h.settings.memoryLimitMode = 'rlimit';
    try {
      await pyJob(
        h,
        'memory-rlimit',
        'chunks = []\nwhile True:\n    chunks.append(b"x" * (8 * 1024 * 1024))',
        {
          limits: { memoryMiB: 256 },
        },
      );
      const r = await h.terminal('memory-rlimit');
      expect(r).toMatchObject({ state: 'FAILED', reason: 'MEMORY_LIMIT' });
      expect(await h.leftovers('memory-rlimit')).toEqual([]);
    } finally {
      h.settings.memoryLimitMode = 'cgroup';
    }
  });
});

describe('dead letters', () => {
  it('an entry delivered too often is dead-lettered: FAILED, DEAD_LETTERED, server notified', async () => {
    // A ghost consumer takes the entry first (in one MULTI, so ours cannot), and it is re-delivered
    // until over the limit (3 in the harness); our consumer then claims it and dead-letters it.
    const id2 = 'delivered-too-often-2';
    await h.redis.hset(h.names.jobKey(id2), { jobId: id2, state: 'QUEUED', attempt: '0', createdAt: '1' });
    const message = {
      version: 1,
      kind: 'job',
      jobId: id2,
      code: { entrypoint: 'main.py', args: [] },
      inputs: [mainInput],
      output: { uri: `s3://${BUCKET}/out/` },
      limits: {},
      env: {},
      notify: {},
    };
    const fields = encodeEntry({ jobId: id2, message, receivedAt: 1, source: 'http' } as { jobId: string });
    const tx = await h.redis
      .multi()
      .xadd(h.names.jobsStream, '*', ...fields)
      .xreadgroup('GROUP', 'job-executor', 'ghost', 'COUNT', 1, 'STREAMS', h.names.jobsStream, '>')
      .exec();
    const entryId = tx?.[0]?.[1] as string;
    for (let i = 0; i < 3; i++) await h.redis.xclaim(h.names.jobsStream, 'job-executor', 'ghost', 0, entryId);
    const r = await h.terminal(id2);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'DEAD_LETTERED', hasFiles: false });
    expect((await h.record(id2)).state).toBe('FAILED');
  });

  it('an entry without a job record is dead-lettered and acknowledged', async () => {
    const message = JSON.parse(
      JSON.stringify({
        version: 1,
        kind: 'job',
        jobId: 'no-record',
        code: { entrypoint: 'main.py' },
        inputs: [mainInput],
        output: { uri: `s3://${BUCKET}/out/` },
      }),
    );
    const entryId = await h.redis.xadd(
      h.names.jobsStream,
      '*',
      ...encodeEntry({ jobId: 'no-record', message, receivedAt: 1, source: 'http' } as { jobId: string }),
    );
    await eventually(async () => {
      const dead = (await h.redis.xrange(h.names.deadStream, '-', '+')) as [string, string[]][];
      return dead.some(([, f]) => f.join(' ').includes(entryId!) && f.join(' ').includes('INTERNAL_ERROR'));
    });
    expect(await h.results('no-record')).toEqual([]);
  });
});

describe('pending work', () => {
  it('leaves nothing pending', async () => {
    await eventually(
      async () => ((await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number])[0] === 0,
    );
  });
});
