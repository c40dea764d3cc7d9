// The data disk's reserve, enforced by the kernel rather than sampled: a small loop-mounted ext4 whose
// reserved blocks belong to one group (tune2fs -r … -g, and the mount option resgid=, as
// docker/README.md sets up the device), Redis running in that group with its AOF (appendfsync
// always) on that disk, and job code (a user of its own, not in the group, no capabilities) that
// writes as fast as it can. The kernel refuses the job at the reserve's edge (ENOSPC) however fast it
// writes; the job ends DISK_FULL, Redis keeps taking writes, and the folder can still be deleted. The
// same attack on the same disk without the reserve kills Redis: its AOF write fails and with
// appendfsync always it exits (redis-server's flushAppendOnlyFile).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXECUTOR_HANDED_OFF_FIELD } from '@edgefleet/contracts';
import { eventually, logSink, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_BELOW_BYTES } from '../src/core/disk-budget.js';
import { ensureUser, type Harness, pyJob, startHarness } from './support/harness.js';

const MiB = 1024 * 1024;
const SIZE_MIB = 96;
const BLOCK = 4096;
/** The reserve: 16 MiB of 4 KiB blocks. */
const RESERVE_BLOCKS = 4096;
const JOB_USER = 'ef-exec-rsv';
const REDIS_USER = 'ef-redis-rsv';
const REDIS_GROUP = 'ef-reserve';

const idOf = (flag: '-u' | '-g', name: string) =>
  Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

/** Redis's user, whose primary group owns the reserve (as uid/gid 999 in docker/compose.yaml). */
function ensureRedisUser(): { uid: number; gid: number } {
  try {
    execFileSync('groupadd', ['--system', REDIS_GROUP], { stdio: 'ignore' });
  } catch {
    // exists already
  }
  try {
    execFileSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', REDIS_GROUP, REDIS_USER],
      { stdio: 'ignore' },
    );
  } catch {
    // exists already
  }
  return { uid: idOf('-u', REDIS_USER), gid: idOf('-g', REDIS_USER) };
}

interface Disk {
  mnt: string;
  unmount(): void;
}

/** A fresh ext4 of SIZE_MIB on a loop device; with `reserveGid`, RESERVE_BLOCKS reserved for that group. */
function mountExt4(reserveGid?: number): Disk {
  const dir = mkdtempSync(join(tmpdir(), 'edgefleet-rsv-'));
  chmodSync(dir, 0o755); // Redis's user and the job user reach the disk through it
  const img = join(dir, 'disk.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    writeFileSync(img, '');
    truncateSync(img, SIZE_MIB * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', '-b', String(BLOCK), '-m', '0', img]);
    const options = ['loop'];
    if (reserveGid !== undefined) {
      execFileSync('tune2fs', ['-r', String(RESERVE_BLOCKS), '-g', String(reserveGid), img], {
        stdio: 'ignore',
      });
      // The mount option as well: a kernel may not apply the superblock's reserved-blocks gid
      // (6.18 mounts it as resgid=0), the mount option it always honours.
      options.push(`resgid=${reserveGid}`);
    }
    execFileSync('mount', ['-o', options.join(','), img, mnt]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    mnt,
    unmount() {
      execFileSync('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A job's folder (adapters/job-folder.ts): `<dataDir>/jobs/<jobId>/{output,logs}`. */
const jobDirs = (dataDir: string, jobId: string) => {
  const root = join(dataDir, 'jobs', jobId);
  return { root, output: join(root, 'output'), logs: join(root, 'logs') };
};

/** Bytes allocated to what the filler wrote (st_blocks × 512). */
const filled = (output: string) => Number(statSync(join(output, 'fill.bin')).blocks) * 512;

/** Bytes an unprivileged writer may still use there (statfs f_bavail). */
const available = (path: string) => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

/**
 * Writes 8 MiB at a time into `dir` (unbuffered) until the kernel says ENOSPC, prints ENOSPC; then,
 * when `hostile`, keeps trying for a minute; exits 1.
 */
const filler = (dir: string, hostile: boolean) =>
  [
    'import errno, os, sys, time',
    `f = open(os.path.join(${dir}, "fill.bin"), "wb", buffering=0)`,
    'try:',
    '    while True:',
    '        f.write(b"x" * 8388608)',
    'except OSError as e:',
    '    if e.errno != errno.ENOSPC:',
    '        raise',
    '    print("ENOSPC", flush=True)',
    `if ${hostile ? 'True' : 'False'}:`,
    '    for _ in range(3000):',
    '        try:',
    '            f.write(b"x" * 1048576)',
    '        except OSError:',
    '            pass',
    '        time.sleep(0.02)',
    'sys.exit(1)',
  ].join('\n');

/** MiB Redis writes once the job met the edge: half the reserve. */
const PROBE_MIB = 8;

/**
 * Writes `n` values of 1 MiB (with appendfsync always, an OK means its AOF took it); returns how many
 * were acknowledged before the first refusal.
 */
async function redisTakes(client: Redis, prefix: string, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const ok = await client.set(`${prefix}${i}`, 'x'.repeat(MiB)).catch(() => null);
    if (ok !== 'OK') return i;
  }
  return n;
}

describe("a reserve for Redis's group on the data disk", () => {
  let disk: Disk | undefined;
  let h: Harness | undefined;
  let noMount = '';
  const sink = logSink('info');

  beforeAll(async () => {
    const redisUser = ensureRedisUser();
    try {
      disk = mountExt4(redisUser.gid);
    } catch (e) {
      noMount = `cannot loop-mount an ext4 here: ${(e as Error).message}`;
      return;
    }
    const redisDir = join(disk.mnt, 'redis');
    mkdirSync(redisDir);
    h = await startHarness({
      user: JOB_USER,
      logger: sink.logger,
      dataDir: disk.mnt,
      redisDir,
      redisUser,
      // No configured floor: what stops the job is the kernel, not the sample.
      settings: {
        minFreeDiskBytes: 0,
        diskCheckMs: 200,
        defaultOutputMiB: 1024,
        diskReserveMiB: (RESERVE_BLOCKS * BLOCK) / MiB,
        diskReserveGid: redisUser.gid,
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
    disk?.unmount();
  });

  it('the executor says at start how much is reserved, and that the reserve is in place', async (ctx) => {
    if (!h || !disk) return ctx.skip(noMount);
    const line = sink.find((l) => l.msg === 'disk reserve in place');
    expect(line?.reservedBytes).toBeGreaterThanOrEqual(RESERVE_BLOCKS * BLOCK);
    const metrics = await h.service.app.inject({ method: 'GET', url: '/metrics' });
    const gauge = /^edgefleet_disk_reserved_bytes(?:{[^}]*})? (\d+)$/m.exec(metrics.body)?.[1];
    expect(Number(gauge)).toBe(line?.reservedBytes);
  });

  it('a job that writes until the kernel refuses (ENOSPC) ends DISK_FULL; Redis keeps writing; the reserve stays whole', async (ctx) => {
    if (!h || !disk) return ctx.skip(noMount);
    const { mnt } = disk;
    const id = 'rsv-enospc';
    // No sample in time: the job meets the kernel's edge, and its exit is what the executor sees.
    h.settings.diskCheckMs = 60_000;
    const before = available(mnt);
    await pyJob(h, id, filler('os.environ["EDGEFLEET_OUTPUT_DIR"]', false));
    const r = await h.terminal(id, 30_000);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'DISK_FULL' });
    const dirs = jobDirs(mnt, id);
    expect(readFileSync(join(dirs.logs, 'stdout.log'), 'utf8')).toBe('ENOSPC\n');
    // Its output is still there (until uploaded): nothing left for job code, room left for Redis.
    expect(available(mnt)).toBeLessThan(FULL_BELOW_BYTES);
    expect(await redisTakes(h.redis, `${id}:`, PROBE_MIB)).toBe(PROBE_MIB);
    // The job user wrote only what was available to it before: not one block of the reserve.
    const written = filled(dirs.output);
    expect(written).toBeGreaterThan(before - 2 * FULL_BELOW_BYTES);
    expect(written).toBeLessThanOrEqual(before);
    // The hand-off to the uploader is on the record, and the folder can go (as the uploader deletes it).
    expect(await h.record(id)).toHaveProperty(EXECUTOR_HANDED_OFF_FIELD);
    rmSync(dirs.root, { recursive: true });
    expect(available(mnt)).toBeGreaterThan(before - PROBE_MIB * MiB - FULL_BELOW_BYTES);
  });

  it('a job that keeps writing at the edge is stopped DISK_FULL by the next sample; Redis keeps writing', async (ctx) => {
    if (!h || !disk) return ctx.skip(noMount);
    const { mnt } = disk;
    const id = 'rsv-hostile';
    h.settings.diskCheckMs = 200;
    const before = available(mnt);
    await pyJob(h, id, filler('os.environ["EDGEFLEET_OUTPUT_DIR"]', true));
    const r = await h.terminal(id, 30_000);
    expect(r).toMatchObject({ state: 'FAILED', reason: 'DISK_FULL' });
    expect(await h.leftovers(id)).toEqual([]);
    expect(await redisTakes(h.redis, `${id}:`, PROBE_MIB)).toBe(PROBE_MIB);
    const dirs = jobDirs(mnt, id);
    expect(filled(dirs.output)).toBeLessThanOrEqual(before);
    rmSync(dirs.root, { recursive: true });
  });
});

describe('the same attack without a reserve', () => {
  let disk: Disk | undefined;
  let redis: RedisServer | undefined;
  let writer: ChildProcess | undefined;
  let noMount = '';

  beforeAll(() => {
    ensureUser(JOB_USER);
    try {
      disk = mountExt4();
    } catch (e) {
      noMount = `cannot loop-mount an ext4 here: ${(e as Error).message}`;
    }
  });
  afterAll(async () => {
    writer?.kill('SIGKILL');
    await redis?.stop();
    disk?.unmount();
  });

  it('Redis exits on its AOF write error once job code has filled the disk; deleting the output recovers it', async (ctx) => {
    if (!disk) return ctx.skip(noMount);
    const { mnt } = disk;
    const redisUser = ensureRedisUser();
    const redisDir = join(mnt, 'redis');
    mkdirSync(redisDir);
    redis = await startRedisServer({ dir: redisDir, user: redisUser });
    const client = redis.client();
    client.on('error', () => {});
    try {
      expect(await client.set('before', 'x')).toBe('OK');
      const out = join(mnt, 'output');
      mkdirSync(out);
      const job = { uid: idOf('-u', JOB_USER), gid: idOf('-g', JOB_USER) };
      chownSync(out, job.uid, job.gid);
      // The hostile writer: it takes whatever space comes free, as the job does in the test above.
      const w = spawn('/usr/bin/python3', ['-c', filler(JSON.stringify(out), true)], {
        ...job,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      writer = w;
      let said = '';
      w.stdout?.on('data', (c: Buffer) => {
        said += c.toString();
      });
      await eventually(() => said.includes('ENOSPC') || undefined, { timeoutMs: 30_000, what: 'ENOSPC' });
      // Nothing kept back for Redis: an AOF write fails within what the reserve would have held, and
      // with appendfsync always Redis exits.
      expect(await redisTakes(client, 'after:', PROBE_MIB)).toBeLessThan(PROBE_MIB);
      await eventually(() => !redis?.running || undefined, { timeoutMs: 10_000, what: 'redis-server exit' });
      // Bounded and self-cleaning: the writer stops, its output goes, Redis starts again from its AOF.
      w.kill('SIGKILL');
      await eventually(() => w.exitCode !== null || w.signalCode !== null || undefined, {
        timeoutMs: 10_000,
        what: 'the writer gone',
      });
      rmSync(out, { recursive: true });
      await redis.restart();
      const again = redis.client();
      try {
        expect(await again.get('before')).toBe('x');
        expect(await again.set('recovered', 'x')).toBe('OK');
      } finally {
        again.disconnect();
      }
    } finally {
      client.disconnect();
    }
  });
});
