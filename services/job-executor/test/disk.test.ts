// A job that writes until the disk is full, on a small tmpfs data folder that also holds Redis's AOF:
// the disk guard stops it (OUTPUT_LIMIT above its quota, DISK_FULL below the device reserve) before
// the disk is full, its folder goes, and Redis still takes (and persists) writes afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logSink } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, pyJob, startHarness } from './support/harness.js';

const MiB = 1024 * 1024;
const SIZE_MIB = 64;
const RESERVE = 24 * MiB;
let h: Harness | undefined;
let mnt: string | undefined;
let noMount = '';
const sink = logSink('info');

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefleet-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MIB}m,mode=755`, 'tmpfs', dir]);
    mnt = dir;
  } catch (e) {
    noMount = `cannot mount a tmpfs here: ${(e as Error).message}`;
    rmdirSync(dir);
    return;
  }
  const redisDir = join(mnt, 'redis');
  mkdirSync(redisDir);
  h = await startHarness({
    user: 'ef-exec-disk',
    logger: sink.logger,
    dataDir: mnt,
    redisDir,
    settings: { minFreeDiskBytes: RESERVE, diskCheckMs: 100, defaultOutputMiB: 1024 },
  });
});
afterAll(async () => {
  await h?.stop();
  if (mnt) {
    execFileSync('umount', [mnt]);
    rmdirSync(mnt);
  }
});

const free = () => {
  const s = statfsSync(mnt as string);
  return s.bavail * s.bsize;
};

/** Redis (AOF appendfsync always, on the same disk) still acknowledges a write: the AOF was written. */
const redisWritable = async (id: string) => {
  const harness = h as Harness;
  expect(await harness.redis.set(`disk-probe:${id}`, 'x'.repeat(4096))).toBe('OK');
  expect(await harness.redis.strlen(`disk-probe:${id}`)).toBe(4096);
};

/** Writes 1 MiB chunks into `folder` until told to stop; on ENOSPC it keeps trying (hostile). */
const writer = (folder: string, pause: number) =>
  [
    'import os, time',
    `d = ${folder}`,
    'f = open(os.path.join(d, "fill.bin"), "wb")',
    'for _ in range(10_000):',
    '    try:',
    '        f.write(b"x" * 1048576); f.flush()',
    '    except OSError:',
    '        pass',
    `    time.sleep(${pause})`,
  ].join('\n');

describe('disk budget while running', () => {
  it('a data folder on tmpfs has no reserve for Redis: a warning at start', (ctx) => {
    if (!h) return ctx.skip(noMount);
    expect(sink.find((l) => String(l.msg).startsWith('disk reserve:'))?.msg).toMatch(
      /is on tmpfs .*: no reserved blocks for Redis/,
    );
  });

  it('a job over its limits.outputMiB ends OUTPUT_LIMIT, its temp folder is gone', async (ctx) => {
    if (!h) return ctx.skip(noMount);
    const id = 'disk-quota';
    await pyJob(h, id, writer('os.environ["EDGEFLEET_OUTPUT_DIR"]', 0.02), { limits: { outputMiB: 4 } });
    const r = await h.terminal(id, 30_000);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'OUTPUT_LIMIT' });
    expect(r.detail).toMatch(/quota of 4\.0 MiB/);
    expect(await h.leftovers(id)).toEqual([]);
    expect(existsSync(join(h.dataDir, 'jobs', id, 'tmp'))).toBe(false);
    expect(free()).toBeGreaterThan(RESERVE);
    await redisWritable(id);
  });

  it('a job filling the disk through its TMPDIR ends DISK_FULL before the reserve is eaten', async (ctx) => {
    if (!h) return ctx.skip(noMount);
    const id = 'disk-full';
    await pyJob(h, id, writer('os.environ["TMPDIR"]', 0.02));
    const r = await h.terminal(id, 30_000);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'DISK_FULL' });
    expect(r.detail).toMatch(/below the reserve/);
    expect(await h.leftovers(id)).toEqual([]);
    // Its temp files are deleted at once: the space is back.
    expect(free()).toBeGreaterThan(RESERVE);
    await redisWritable(id);
  });

  it('a job that fills the disk faster than the guard looks and dies of ENOSPC ends DISK_FULL', async (ctx) => {
    if (!h) return ctx.skip(noMount);
    const id = 'disk-fast';
    await pyJob(
      h,
      id,
      [
        'import os',
        'f = open(os.path.join(os.environ["TMPDIR"], "fill.bin"), "wb")',
        'while True:',
        '    f.write(b"x" * 8388608)',
      ].join('\n'),
    );
    const r = await h.terminal(id, 30_000);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'DISK_FULL' });
    expect(await h.leftovers(id)).toEqual([]);
    expect(free()).toBeGreaterThan(RESERVE);
    await redisWritable(id);
  });
});
