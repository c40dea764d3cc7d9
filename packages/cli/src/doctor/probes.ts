// `edgefleet doctor`'s probes: read this device's facts (files, processes, sockets) for checks.ts.
// Settings are the services' own variables (EDGEFLEET_DATA_DIR, EDGEFLEET_JOB_USER, ...), so run in
// the executor's container the doctor sees what the executor sees.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, statfs } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RESERVE_GID } from '@edgefleet/contracts';
import {
  ConfigError,
  commonConfigShape,
  detectDurability,
  listGpuDeviceNodes,
  loadEnvConfig,
  readDiskReserve,
} from '@edgefleet/service-kit';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  type CgroupFacts,
  type CheckLine,
  checkCgroups,
  checkClock,
  checkDataDir,
  checkDisk,
  checkDiskReserve,
  checkGossip,
  checkGpuAccess,
  checkJobUser,
  checkL4t,
  checkNvidiaRuntime,
  checkPython,
  checkRedis,
  type PathStep,
} from './checks.js';

const run = promisify(execFile);

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  /** Membership API of the local gossip service (GET /info). */
  membersApi: string;
  /** Per-probe network timeout in ms. */
  timeoutMs?: number;
}

async function python(bin: string): Promise<{ bin: string; version?: string; error?: string }> {
  try {
    const { stdout } = await run(
      bin,
      ['-I', '-c', 'import venv, ensurepip, sys; print(sys.version.split()[0])'],
      {
        timeout: 10_000,
      },
    );
    return { bin, version: stdout.trim() };
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    const why = err.code === 'ENOENT' ? 'not found' : (err.stderr?.trim().split('\n').pop() ?? err.message);
    return { bin, error: why };
  }
}

function table(text: string): string[][] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':'));
}

async function users(name: string) {
  const passwd = table(await readFile('/etc/passwd', 'utf8').catch(() => ''));
  const group = table(await readFile('/etc/group', 'utf8').catch(() => ''));
  const row = passwd.find((r) => r[0] === name);
  const names = new Map(group.map((r) => [Number(r[2]), r[0] as string]));
  const member = group.filter((r) => (r[3] ?? '').split(',').includes(name)).map((r) => Number(r[2]));
  const gidOf = new Map(group.map((r) => [r[0] as string, Number(r[2])]));
  return {
    uid: row ? Number(row[2]) : undefined,
    gid: row ? Number(row[3]) : undefined,
    groups: member,
    groupName: (gid: number) => names.get(gid) ?? String(gid),
    gidOf: (g: string) => (/^\d+$/.test(g) ? Number(g) : gidOf.get(g)),
  };
}

async function pathSteps(dir: string): Promise<PathStep[] | { error: string }> {
  const steps: PathStep[] = [];
  let p = resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(p);
    const up = resolve(p, '..');
    if (up === p) break;
    p = up;
  }
  for (const c of chain) {
    try {
      const s = await stat(c);
      steps.push({ path: c, uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 });
    } catch (e) {
      return { error: `${c}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` };
    }
  }
  return steps;
}

/** Can we make (and remove) a folder under `dir`? The real test of a writable cgroup. */
async function canMakeDir(dir: string): Promise<boolean> {
  const probe = join(dir, `edgefleet-doctor-${process.pid}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return true;
  } catch {
    return false;
  }
}

async function cgroupFacts(mountsText?: string): Promise<CgroupFacts> {
  const text = mountsText ?? (await readFile('/proc/mounts', 'utf8').catch(() => ''));
  const facts: CgroupFacts = { v1: {} };
  for (const l of text.split('\n')) {
    const [, mnt, type, opts] = l.split(' ');
    if (!mnt || !opts) continue;
    if (type === 'cgroup2' && !facts.v2) {
      const controllers = (await readFile(join(mnt, 'cgroup.controllers'), 'utf8').catch(() => ''))
        .split(/\s+/)
        .filter(Boolean);
      facts.v2 = { mount: mnt, controllers, writable: await canMakeDir(mnt) };
    }
    if (type === 'cgroup')
      for (const c of ['memory', 'pids'] as const)
        if (opts.split(',').includes(c) && !facts.v1[c])
          facts.v1[c] = { mount: mnt, writable: await canMakeDir(mnt) };
  }
  return facts;
}

/** The Redis password as the services read it: EDGEFLEET_REDIS_PASSWORD or the file EDGEFLEET_REDIS_PASSWORD_FILE names. */
function redisPassword(env: NodeJS.ProcessEnv): { password?: string } | { error: string } {
  try {
    const { redisPassword } = loadEnvConfig(
      z.object({ redisPassword: commonConfigShape.redisPassword }),
      env,
    );
    return redisPassword ? { password: redisPassword } : {};
  } catch (e) {
    if (e instanceof ConfigError) return { error: e.message };
    throw e;
  }
}

async function redisLines(env: NodeJS.ProcessEnv): Promise<CheckLine[]> {
  const url = env.EDGEFLEET_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secret = redisPassword(env);
  if ('error' in secret) return checkRedis({ url: redact(url), error: secret.error });
  const opts = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 3000,
    retryStrategy: () => null,
  };
  const withPw = new Redis(url, {
    ...opts,
    ...secret,
  });
  const noPw = new Redis(url, {
    ...opts,
    password: undefined as unknown as string,
    username: undefined as unknown as string,
  });
  withPw.on('error', () => undefined);
  noPw.on('error', () => undefined);
  try {
    await withPw.connect();
    await withPw.ping();
    const durability = await detectDurability(withPw);
    let passwordRequired = true;
    try {
      await noPw.connect();
      await noPw.ping();
      passwordRequired = false;
    } catch {
      passwordRequired = true;
    }
    return checkRedis({ url: redact(url), passwordRequired, durability });
  } catch (e) {
    return checkRedis({ url: redact(url), error: (e as Error).message });
  } finally {
    withPw.disconnect();
    noPw.disconnect();
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

async function clockSkew(env: NodeJS.ProcessEnv, timeoutMs: number) {
  const endpoint =
    env.AWS_ENDPOINT_URL_S3 ??
    env.AWS_ENDPOINT_URL ??
    `https://s3.${env.AWS_REGION ?? 'us-east-1'}.amazonaws.com`;
  try {
    const before = Date.now();
    const res = await fetch(endpoint, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    const after = Date.now();
    const date = res.headers.get('date');
    if (!date) return { endpoint, error: 'no Date header in the answer' };
    // The server stamps its second somewhere in the round trip: compare with its middle.
    return { endpoint, skewMs: (before + after) / 2 - Date.parse(date) };
  } catch (e) {
    return { endpoint, error: (e as Error).message };
  }
}

async function gossipInfo(api: string, timeoutMs: number) {
  try {
    const res = await fetch(new URL('info', api.endsWith('/') ? api : `${api}/`), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return { error: `GET /info answered ${res.status}` };
    const j = (await res.json()) as { Name: string; IP: string; Port: number };
    const info = { name: j.Name, ip: j.IP, port: j.Port };
    const answers = await new Promise<boolean>((done) => {
      const s = connect({ host: info.ip, port: info.port, timeout: timeoutMs });
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
      s.once('timeout', () => {
        s.destroy();
        done(false);
      });
    });
    const iface = Object.entries(networkInterfaces()).find(([, addrs]) =>
      (addrs ?? []).some((a) => a.address === info.ip),
    )?.[0];
    return { info, answers, ...(iface ? { iface } : {}) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function inContainer(): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv');
}

/** Runs every probe and check. Lines in a fixed order. */
export async function runDoctor(o: DoctorOptions): Promise<CheckLine[]> {
  const env = o.env;
  const timeoutMs = o.timeoutMs ?? 5000;
  const dataDir = resolve(env.EDGEFLEET_DATA_DIR ?? './.data');
  const userName = env.EDGEFLEET_JOB_USER ?? 'edgefleet-job';
  const devRoot = env.EDGEFLEET_DEVICE_ROOT ?? '/dev';
  const releaseFile = env.EDGEFLEET_L4T_RELEASE_FILE ?? '/etc/nv_tegra_release';
  const lines: CheckLine[] = [];

  lines.push(checkPython(await python(env.EDGEFLEET_PYTHON_BIN ?? '/usr/bin/python3')));
  const u = await users(userName);
  const serviceIsRoot = (process.getuid?.() ?? 0) === 0;
  lines.push(
    checkJobUser({
      name: userName,
      ...(u.uid !== undefined ? { uid: u.uid, gid: u.gid as number } : {}),
      groups: u.groups,
      serviceIsRoot,
    }),
  );
  const nodes = await listGpuDeviceNodes(devRoot);
  const release = await readFile(releaseFile, 'utf8').catch(() => undefined);
  const extra = (env.EDGEFLEET_JOB_DEVICE_GROUPS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(u.gidOf)
    .filter((g): g is number => g !== undefined);
  lines.push(
    checkGpuAccess({
      nodes,
      extraGids: extra,
      jetson: release !== undefined,
      userGroups: u.groups,
      groupName: u.groupName,
    }),
  );
  lines.push(
    checkDataDir({
      dataDir,
      steps: await pathSteps(dataDir),
      ...(u.uid !== undefined
        ? { user: { uid: u.uid, gid: u.gid as number, groups: [...u.groups, ...extra] } }
        : {}),
    }),
  );
  lines.push(checkCgroups(await cgroupFacts()));
  lines.push(...(await redisLines(env)));
  lines.push(checkClock(await clockSkew(env, timeoutMs)));
  const free = await statfs(dataDir).then(
    (s) => Number(s.bavail) * Number(s.bsize),
    () => undefined,
  );
  lines.push(
    checkDisk({
      dataDir,
      ...(free !== undefined ? { freeBytes: free } : {}),
      minFreeBytes: Number(env.EDGEFLEET_MIN_FREE_DISK_BYTES ?? 1024 ** 3),
    }),
  );
  lines.push(
    checkDiskReserve({
      dataDir,
      ...(await readDiskReserve(dataDir).then(
        (facts) => ({ facts }),
        () => ({}),
      )),
      wantBytes: Number(env.EDGEFLEET_DISK_RESERVE_MIB ?? 512) * 1048576,
      gid: Number(env.EDGEFLEET_DISK_RESERVE_GID ?? RESERVE_GID),
    }),
  );
  lines.push(checkGossip({ api: o.membersApi, ...(await gossipInfo(o.membersApi, timeoutMs)) }));
  lines.push(
    checkNvidiaRuntime({
      inContainer: inContainer(),
      jetson: release !== undefined,
      cudaNodes: nodes.filter((n) => n.cuda).length,
      ...(env.NVIDIA_VISIBLE_DEVICES ? { visibleDevices: env.NVIDIA_VISIBLE_DEVICES } : {}),
    }),
  );
  lines.push(
    checkL4t({
      ...(release !== undefined ? { deviceRelease: release } : {}),
      ...(env.EDGEFLEET_IMAGE_L4T ? { imageL4t: env.EDGEFLEET_IMAGE_L4T } : {}),
    }),
  );
  return lines;
}
