// `edgefleet doctor` on this machine, with real failures staged: a data folder behind a 0700 folder,
// a Redis without AOF, a job user that does not exist; the pure rules with made-up facts.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountOf } from '@edgefleet/contracts';
import { type Emulator, type RedisServer, startEmulator, startRedisServer } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckLine,
  cgroupModes,
  checkClock,
  checkDataDir,
  checkDiskReserve,
  checkGossip,
  checkGpuAccess,
  checkL4t,
  exitCodeOf,
} from '../src/doctor/checks.js';
import { runDoctor } from '../src/doctor/probes.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const USER = 'ef-cli-doctor';
const PASSWORD = 'doctor-test-password';
let durable: RedisServer;
let volatile: RedisServer;
let emulator: Emulator;
let root: string;
let gossipApi: string;
const servers: { close(cb?: () => void): unknown }[] = [];

/** A stand-in for the local gossip service's GET /info, advertising a port that answers on TCP. */
async function gossipStandIn(ip: string): Promise<string> {
  const tcp = createTcpServer((s) => s.destroy());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const port = (tcp.address() as { port: number }).port;
  const http: Server = createHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/info' ? { Name: 'dev-1', IP: ip, Port: port } : {}));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  servers.push(tcp, http);
  return `http://127.0.0.1:${(http.address() as { port: number }).port}`;
}

beforeAll(async () => {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  }
  durable = await startRedisServer({ password: PASSWORD });
  volatile = await startRedisServer({ aof: false });
  emulator = await startEmulator();
  root = mkdtempSync(join(tmpdir(), 'edgefleet-doctor-'));
  chmodSync(root, 0o755);
  gossipApi = await gossipStandIn('127.0.0.1');
});
afterAll(async () => {
  await durable?.stop();
  await volatile?.stop();
  await emulator?.stop();
  for (const s of servers) s.close();
  rmSync(root, { recursive: true, force: true });
});

const byCheck = (lines: CheckLine[]) => Object.fromEntries(lines.map((l) => [l.check, l]));

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    EDGEFLEET_JOB_USER: USER,
    EDGEFLEET_REDIS_URL: durable.url.replace(/\/\/[^@]*@/, '//'),
    EDGEFLEET_REDIS_PASSWORD: PASSWORD,
    AWS_ENDPOINT_URL: emulator.endpoint,
    EDGEFLEET_MIN_FREE_DISK_BYTES: '1048576',
    ...extra,
  };
}

describe('edgefleet doctor on this machine', () => {
  it('a good set-up: python, user, data folder, cgroups, durable Redis with a password, clock, disk, gossip', async () => {
    const data = join(root, 'good');
    mkdirSync(data, { mode: 0o755 });
    const lines = byCheck(await runDoctor({ env: env({ EDGEFLEET_DATA_DIR: data }), membersApi: gossipApi }));
    for (const c of [
      'python',
      'job user',
      'data folder',
      'redis auth',
      'redis durability',
      'clock',
      'free disk',
    ])
      expect([c, lines[c]?.status, lines[c]?.detail]).toEqual([c, 'ok', lines[c]?.detail]);
    expect(lines['redis durability']?.detail).toMatch(/appendfsync always|WAITAOF/);
    expect(lines.clock?.detail).toMatch(/^\d+ s (ahead of|behind) http:\/\/127\.0\.0\.1/);
    // This machine is hybrid: memory and pids are v1; the line says which mode a device will use.
    expect(lines.cgroups?.detail).toMatch(/memory limits: (v1|v2) \(.+\); pids limits: (v1|v2) \(.+\)/);
    // Network tests stay on loopback: the port answers, and loopback is only a warning (local mode).
    expect(lines.gossip).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(
        /^dev-1 advertises 127\.0\.0\.1:\d+, which answers, but only this machine/,
      ),
    });
  });

  it('disk reserve on a loop-mounted ext4: ok with a reserve for group 999, a warning with the fix without', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-doctor-disk-'));
    const img = join(dir, 'disk.img');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    try {
      writeFileSync(img, '');
      truncateSync(img, 64 * 1048576);
      execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-m', '0', img]);
      execFileSync('tune2fs', ['-r', '2048', '-g', '999', img], { stdio: 'ignore' });
      execFileSync('mount', ['-o', 'loop,resgid=999', img, mnt]);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      return ctx.skip(`cannot loop-mount an ext4 here: ${(e as Error).message}`);
    }
    try {
      const doctor = async () =>
        byCheck(
          await runDoctor({
            env: env({ EDGEFLEET_DATA_DIR: mnt, EDGEFLEET_DISK_RESERVE_MIB: '8' }),
            membersApi: gossipApi,
          }),
        )['disk reserve'];
      expect(await doctor()).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(/^\d+ MiB reserved for group 999 on \/dev\/loop\d+/),
      });
      execFileSync('mount', ['-o', 'remount,resgid=0', mnt]);
      expect(await doctor()).toMatchObject({
        status: 'warn',
        detail: expect.stringMatching(/belong to group 0, not Redis's 999$/),
        fix: expect.stringContaining('resgid=999'),
      });
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the Redis password from EDGEFLEET_REDIS_PASSWORD_FILE, as the services do (compose secrets)', async () => {
    const secretFile = join(root, 'redis-password');
    writeFileSync(secretFile, `${PASSWORD}\n`, { mode: 0o600 });
    const ok = byCheck(
      await runDoctor({
        env: env({
          EDGEFLEET_DATA_DIR: root,
          EDGEFLEET_REDIS_PASSWORD: '',
          EDGEFLEET_REDIS_PASSWORD_FILE: secretFile,
        }),
        membersApi: gossipApi,
      }),
    );
    expect(ok['redis auth']?.status).toBe('ok');
    expect(ok['redis durability']?.status).toBe('ok');

    const missing = byCheck(
      await runDoctor({
        env: env({
          EDGEFLEET_DATA_DIR: root,
          EDGEFLEET_REDIS_PASSWORD: '',
          EDGEFLEET_REDIS_PASSWORD_FILE: join(root, 'no-such-secret'),
        }),
        membersApi: gossipApi,
      }),
    );
    const failed = Object.values(missing).filter((l) => l.check.startsWith('redis'));
    expect(failed.length).toBeGreaterThan(0);
    for (const l of failed)
      expect(l).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('EDGEFLEET_REDIS_PASSWORD_FILE'),
      });
  });

  it('staged failures: a 0700 folder above the data folder, Redis without AOF, a missing job user → exit 2 with a fix per line', async () => {
    const closed = join(root, 'closed');
    mkdirSync(join(closed, 'data'), { recursive: true });
    chmodSync(closed, 0o700);
    const stage = async (extra: Record<string, string>) =>
      byCheck(await runDoctor({ env: env(extra), membersApi: gossipApi }));

    const dataLines = await stage({ EDGEFLEET_DATA_DIR: join(closed, 'data') });
    expect(dataLines['data folder']).toMatchObject({
      status: 'fail',
      detail: `the job user cannot enter ${closed} (mode 0700)`,
      fix: expect.stringContaining(`chmod o+x ${closed}`),
    });

    const redisLines = await stage({
      EDGEFLEET_DATA_DIR: root,
      EDGEFLEET_REDIS_URL: volatile.url,
      EDGEFLEET_REDIS_PASSWORD: '',
    });
    expect(redisLines['redis durability']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('AOF is off'),
      fix: expect.stringContaining('appendfsync always'),
    });
    expect(redisLines['redis auth']?.status).toBe('warn');

    const userLines = await stage({ EDGEFLEET_DATA_DIR: root, EDGEFLEET_JOB_USER: 'no-such-user-doctor' });
    expect(userLines['job user']).toMatchObject({
      status: 'fail',
      detail: 'user no-such-user-doctor does not exist',
      fix: expect.stringContaining('useradd'),
    });
  });

  it('the command: a table with a fix per line, --json for automation, exit 2 on a failure', async () => {
    const run = (args: string[], e: NodeJS.ProcessEnv) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [entry, ...args], { env: e });
        let stdout = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const e = env({
      EDGEFLEET_DATA_DIR: root,
      EDGEFLEET_JOB_USER: 'no-such-user-doctor',
      EDGEFLEET_MEMBERS_API_URL: gossipApi,
    });
    const json = await run(['doctor', '--json'], e);
    expect(json.code).toBe(2);
    const body = JSON.parse(json.stdout) as { exitCode: number; lines: CheckLine[] };
    expect(body.exitCode).toBe(2);
    expect(body.lines.find((l) => l.check === 'job user')?.status).toBe('fail');
    const text = await run(['doctor'], e);
    expect(text.code).toBe(2);
    expect(text.stdout.split('\n')[0]).toMatch(/^STATUS\s+CHECK\s+DETAIL\s+FIX$/);
    expect(text.stdout).toMatch(
      /FAIL\s+job user\s+user no-such-user-doctor does not exist\s+create it: useradd/,
    );
  });
});

describe('doctor rules', () => {
  const step = (path: string, mode: number, uid = 0, gid = 0) => ({ path, uid, gid, mode });
  it('exit code: 0 all ok or skipped, 1 with a warning, 2 with a failure', () => {
    const l = (status: CheckLine['status']): CheckLine => ({ check: 'x', status, detail: '', fix: '' });
    expect(exitCodeOf([l('ok'), l('skip')])).toBe(0);
    expect(exitCodeOf([l('ok'), l('warn')])).toBe(1);
    expect(exitCodeOf([l('warn'), l('fail')])).toBe(2);
  });
  it('data folder: the x bit that applies (owner, group, other) on every step', () => {
    const user = { uid: 1000, gid: 1000, groups: [44] };
    const ok = [step('/', 0o755), step('/srv', 0o750, 0, 44), step('/srv/d', 0o700, 1000, 1000)];
    expect(checkDataDir({ dataDir: '/srv/d', steps: ok, user }).status).toBe('ok');
    const groupOnly = [step('/', 0o755), step('/srv', 0o750, 0, 45)];
    expect(checkDataDir({ dataDir: '/srv', steps: groupOnly, user }).status).toBe('fail');
  });
  it('cgroups: v2 when it has the controller and is writable, else v1, else none', () => {
    expect(
      cgroupModes({
        v2: { mount: '/sys/fs/cgroup', controllers: ['memory', 'pids'], writable: true },
        v1: {},
      }),
    ).toEqual({ memory: 'v2', pids: 'v2' });
    const hybrid = {
      v2: { mount: '/sys/fs/cgroup/unified', controllers: ['hugetlb'], writable: true },
      v1: {
        memory: { mount: '/sys/fs/cgroup/memory', writable: true },
        pids: { mount: '/sys/fs/cgroup/pids', writable: true },
      },
    };
    expect(cgroupModes(hybrid)).toEqual({ memory: 'v1', pids: 'v1' });
    expect(cgroupModes({ v1: {} })).toEqual({ memory: 'none', pids: 'none' });
  });
  it('clock: 300 s is the signature window', () => {
    expect(checkClock({ endpoint: 'e', skewMs: 2000 }).status).toBe('ok');
    expect(checkClock({ endpoint: 'e', skewMs: -60_000 }).status).toBe('warn');
    expect(checkClock({ endpoint: 'e', skewMs: 301_000 }).status).toBe('fail');
  });
  it('gossip: the USB bridge address or a bridge interface is a failure', () => {
    const info = { name: 'n', ip: '192.168.55.1', port: 7946 };
    expect(checkGossip({ api: 'a', info, answers: true }).status).toBe('fail');
    expect(
      checkGossip({ api: 'a', info: { ...info, ip: '172.17.0.1' }, answers: true, iface: 'docker0' }).status,
    ).toBe('fail');
    expect(
      checkGossip({ api: 'a', info: { ...info, ip: '10.0.0.5' }, answers: false, iface: 'eth0' }).status,
    ).toBe('fail');
    expect(
      checkGossip({ api: 'a', info: { ...info, ip: '10.0.0.5' }, answers: true, iface: 'eth0' }).status,
    ).toBe('ok');
  });
  it('GPU nodes: a node only root’s group can open is a warning; a Jetson without nodes too', () => {
    const name = (g: number) => (g === 44 ? 'video' : String(g));
    const base = { extraGids: [], jetson: true, userGroups: [], groupName: name };
    expect(
      checkGpuAccess({ ...base, nodes: [{ path: '/dev/nvmap', gid: 44, mode: 0o660, cuda: true }] }),
    ).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('video(44)'),
    });
    expect(
      checkGpuAccess({ ...base, nodes: [{ path: '/dev/nvmap', gid: 0, mode: 0o660, cuda: true }] }).status,
    ).toBe('warn');
    expect(checkGpuAccess({ ...base, nodes: [] }).status).toBe('warn');
    expect(checkGpuAccess({ ...base, jetson: false, nodes: [] }).status).toBe('skip');
  });
  it('L4T: the executor image must match the device major release (r35 JetPack 5, r36 JetPack 6)', () => {
    const r36 =
      '# R36 (release), REVISION: 4.0, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Thu Sep 26 22:36:33 UTC 2024';
    expect(checkL4t({ deviceRelease: r36, imageL4t: 'r36.4.0' }).status).toBe('ok');
    expect(checkL4t({ deviceRelease: r36, imageL4t: 'r35.4.1' })).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('l4t-jetpack:r36'),
    });
    expect(checkL4t({ deviceRelease: r36, imageL4t: 'nvcr.io/nvidia/l4t-jetpack:r36.4.0' }).status).toBe(
      'ok',
    );
    expect(checkL4t({}).status).toBe('skip');
  });
  it("disk reserve: enough blocks reserved for Redis's group is ok; too few, another group's or tmpfs warns with the fix", () => {
    const MiB = 1048576;
    const mount = {
      mountPoint: '/data',
      fsType: 'ext4',
      source: '/dev/nvme0n1p1',
      options: ['rw', 'resgid=999'],
    };
    // 300 MiB reserved (f_bfree - f_bavail, 4 KiB blocks).
    const facts = { bsize: 4096, bfree: 1_000_000, bavail: 1_000_000 - 76_800, mount };
    const want = { dataDir: '/data/edgefleet', wantBytes: 256 * MiB, gid: 999 };
    expect(checkDiskReserve({ ...want, facts })).toMatchObject({
      status: 'ok',
      detail: '300 MiB reserved for group 999 on /dev/nvme0n1p1: job output cannot take them',
    });
    expect(checkDiskReserve({ ...want, facts: { ...facts, bavail: 1_000_000 - 1000 } })).toMatchObject({
      status: 'warn',
      detail: '3 MiB reserved on /dev/nvme0n1p1, less than 256 MiB (EDGEFLEET_DISK_RESERVE_MIB)',
      fix: 'tune2fs -r 65536 -g 999 /dev/nvme0n1p1, and mount it with resgid=999',
    });
    expect(
      checkDiskReserve({ ...want, facts: { ...facts, mount: { ...mount, options: ['rw'] } } }),
    ).toMatchObject({
      status: 'warn',
      detail: "the 300 MiB reserved on /dev/nvme0n1p1 belong to group 0, not Redis's 999",
      fix: expect.stringContaining('mount -o remount,resgid=999'),
    });
    expect(
      checkDiskReserve({
        ...want,
        facts: { ...facts, mount: { ...mount, fsType: 'tmpfs', source: 'tmpfs' } },
      }),
    ).toMatchObject({ status: 'warn', fix: expect.stringContaining('ext4') });
    expect(checkDiskReserve(want).status).toBe('skip');
  });
  it("disk reserve: the data folder's mount is the longest mount point above it (mountinfo escapes spaces)", () => {
    const mountinfo = [
      '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw',
      '30 22 259:3 / /data rw,relatime shared:5 - ext4 /dev/nvme0n1p3 rw,resgid=999',
      '31 22 259:4 / /data\\040two rw - xfs /dev/sdb1 rw',
      '',
    ].join('\n');
    expect(mountOf(mountinfo, '/data/edgefleet')).toMatchObject({
      source: '/dev/nvme0n1p3',
      options: ['rw', 'resgid=999'],
    });
    expect(mountOf(mountinfo, '/data two/x')).toMatchObject({ mountPoint: '/data two', fsType: 'xfs' });
    expect(mountOf(mountinfo, '/database')?.source).toBe('/dev/nvme0n1p1');
  });
});
