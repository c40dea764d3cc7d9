// `edgefleet doctor`'s decisions: each check turns probed facts (probes.ts) into one line with a
// status and, when not ok, the fix. Pure: no I/O here, so every rule is tested with made-up facts.

import { type DiskReserveFacts, diskReserveProblem, reservedBytes } from '@edgefleet/contracts';

type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckLine {
  check: string;
  status: Status;
  detail: string;
  /** What to do about it (empty when ok). */
  fix: string;
}

const line = (check: string, status: Status, detail: string, fix = ''): CheckLine => ({
  check,
  status,
  detail,
  fix,
});

/** 0 all good (skips included), 1 warnings, 2 failures. */
export function exitCodeOf(lines: readonly CheckLine[]): 0 | 1 | 2 {
  if (lines.some((l) => l.status === 'fail')) return 2;
  if (lines.some((l) => l.status === 'warn')) return 1;
  return 0;
}

export function checkPython(f: { bin: string; version?: string; error?: string }): CheckLine {
  if (f.version) return line('python', 'ok', `${f.bin}: Python ${f.version} with venv and ensurepip`);
  return line(
    'python',
    'fail',
    `${f.bin}: ${f.error ?? 'not usable'}`,
    'install python3 and python3-venv (apt-get install python3 python3-venv), or set EDGEFLEET_PYTHON_BIN',
  );
}

export interface UserFacts {
  name: string;
  /** Absent when /etc/passwd has no such user. */
  uid?: number;
  gid?: number;
  /** Supplementary groups from /etc/group (gids). */
  groups: number[];
  /** The service is root (only then do jobs run as the job user). */
  serviceIsRoot: boolean;
}

export function checkJobUser(u: UserFacts): CheckLine {
  if (!u.serviceIsRoot)
    return line(
      'job user',
      'warn',
      'not root: jobs would run as this user, not as a user of their own',
      'run the executor as root (the image and compose file do)',
    );
  if (u.uid === undefined)
    return line(
      'job user',
      'fail',
      `user ${u.name} does not exist`,
      `create it: useradd --system --no-create-home --shell /usr/sbin/nologin ${u.name} (scripts/install-system-deps.sh), or set EDGEFLEET_JOB_USER`,
    );
  if (u.uid === 0)
    return line('job user', 'fail', `${u.name} is root`, 'set EDGEFLEET_JOB_USER to an unprivileged user');
  return line('job user', 'ok', `${u.name} (uid ${u.uid}, gid ${u.gid})`);
}

export interface GpuNodeFacts {
  path: string;
  gid: number;
  mode: number;
  cuda: boolean;
}

/**
 * The GPU device nodes vs the groups jobs get: the executor gives job processes the groups owning
 * the nodes (never gid 0) plus EDGEFLEET_JOB_DEVICE_GROUPS; a node jobs still cannot open is a warning.
 */
export function checkGpuAccess(f: {
  nodes: readonly GpuNodeFacts[];
  extraGids: readonly number[];
  /** /etc/nv_tegra_release exists (a Jetson, where CUDA nodes are expected). */
  jetson: boolean;
  userGroups: readonly number[];
  groupName: (gid: number) => string;
}): CheckLine {
  const cuda = f.nodes.filter((n) => n.cuda);
  if (f.nodes.length === 0)
    return f.jetson
      ? line(
          'gpu devices',
          'warn',
          'a Jetson, but no GPU device nodes are visible',
          'run the executor with the NVIDIA runtime (runtime: nvidia; nvidia-ctk runtime configure --runtime=docker)',
        )
      : line('gpu devices', 'skip', 'no GPU device nodes (CPU-only device)');
  const given = new Set([...f.nodes.map((n) => n.gid).filter((g) => g !== 0), ...f.extraGids]);
  const closed = f.nodes.filter((n) => {
    const groupRw = (n.mode & 0o060) === 0o060 && given.has(n.gid);
    const otherRw = (n.mode & 0o006) === 0o006;
    return !groupRw && !otherRw;
  });
  const groups = [...given].sort((a, b) => a - b).map((g) => `${f.groupName(g)}(${g})`);
  if (closed.length)
    return line(
      'gpu devices',
      'warn',
      `jobs cannot open ${closed.map((n) => `${n.path} (gid ${n.gid}, mode ${n.mode.toString(8)})`).join(', ')}`,
      'give the nodes a group other than root with rw for the group (udev rule: GROUP="video", MODE="0660")',
    );
  const notMember = [...given].filter((g) => !f.userGroups.includes(g));
  return line(
    'gpu devices',
    'ok',
    `${f.nodes.length} node(s) (${cuda.length} CUDA); jobs get groups ${groups.join(', ')}${notMember.length ? ` (by the executor; the user itself is not in ${notMember.map(f.groupName).join(', ')})` : ''}`,
  );
}

export interface PathStep {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

/** Can `user` traverse every folder from / down to the data folder? (owner, group or other x bit) */
export function checkDataDir(f: {
  dataDir: string;
  steps: readonly PathStep[] | { error: string };
  user?: { uid: number; gid: number; groups: readonly number[] };
}): CheckLine {
  if ('error' in f.steps)
    return line(
      'data folder',
      'fail',
      `${f.dataDir}: ${f.steps.error}`,
      'create it (the executor makes <data>/jobs) or set EDGEFLEET_DATA_DIR',
    );
  if (!f.user) return line('data folder', 'skip', `${f.dataDir}: no job user to check against`);
  const u = f.user;
  const blocked = f.steps.find((s) => {
    const bit = s.uid === u.uid ? 0o100 : s.gid === u.gid || u.groups.includes(s.gid) ? 0o010 : 0o001;
    return (s.mode & bit) === 0;
  });
  if (blocked)
    return line(
      'data folder',
      'fail',
      `the job user cannot enter ${blocked.path} (mode ${(blocked.mode & 0o777).toString(8).padStart(4, '0')})`,
      `chmod o+x ${blocked.path} (or chmod 0755): jobs and their environments live under ${f.dataDir}`,
    );
  return line('data folder', 'ok', `${f.dataDir} traversable by the job user`);
}

export interface CgroupFacts {
  /** cgroup2 mount and what its root offers (cgroup.controllers) and whether we can make folders there. */
  v2?: { mount: string; controllers: string[]; writable: boolean };
  /** v1 mounts of the memory and pids controllers and whether we can make folders there. */
  v1: { memory?: { mount: string; writable: boolean }; pids?: { mount: string; writable: boolean } };
}

export type LimitMode = 'v2' | 'v1' | 'none';

/** Which hierarchy the executor will use for each limit (as services/job-executor/src/adapters/cgroup.ts). */
export function cgroupModes(f: CgroupFacts): { memory: LimitMode; pids: LimitMode } {
  const mode = (c: 'memory' | 'pids'): LimitMode =>
    f.v2?.writable && f.v2.controllers.includes(c) ? 'v2' : f.v1[c]?.writable ? 'v1' : 'none';
  return { memory: mode('memory'), pids: mode('pids') };
}

export function checkCgroups(f: CgroupFacts): CheckLine {
  const m = cgroupModes(f);
  const where = (c: 'memory' | 'pids') =>
    m[c] === 'v2' ? `v2 (${f.v2?.mount})` : m[c] === 'v1' ? `v1 (${f.v1[c]?.mount})` : 'none';
  const detail = `memory limits: ${where('memory')}; pids limits: ${where('pids')}`;
  if (m.memory === 'none' || m.pids === 'none')
    return line(
      'cgroups',
      m.memory === 'none' ? 'fail' : 'warn',
      detail,
      'run the executor as root with /sys/fs/cgroup writable (compose: cgroup: host or a writable mount); JetPack 6 is cgroup v2 only',
    );
  return line('cgroups', 'ok', detail);
}

export function checkRedis(f: {
  url: string;
  error?: string;
  passwordRequired?: boolean;
  durability?: { mode: 'waitaof' | 'aof-always' | 'none'; detail: string; version: string };
}): CheckLine[] {
  if (f.error)
    return [
      line(
        'redis',
        'fail',
        `${f.url}: ${f.error}`,
        'start Redis, check EDGEFLEET_REDIS_URL and EDGEFLEET_REDIS_PASSWORD (or EDGEFLEET_REDIS_PASSWORD_FILE)',
      ),
    ];
  const out: CheckLine[] = [];
  out.push(
    f.passwordRequired
      ? line('redis auth', 'ok', 'a password is required')
      : line(
          'redis auth',
          'warn',
          'Redis answers without a password (job code can reach it on the jobs network)',
          'set requirepass in redis.conf and EDGEFLEET_REDIS_PASSWORD',
        ),
  );
  const d = f.durability;
  if (d && d.mode !== 'none') out.push(line('redis durability', 'ok', `Redis ${d.version}: ${d.detail}`));
  else
    out.push(
      line(
        'redis durability',
        'fail',
        `Redis ${d?.version ?? '?'}: ${d?.detail ?? 'unknown'}`,
        'appendonly yes and appendfsync always in redis.conf (Redis >= 7.2 with AOF on uses WAITAOF)',
      ),
    );
  return out;
}

/** Webhook signatures are valid for 300 s either way (result-uploader): skew must stay well inside. */
export function checkClock(f: { endpoint: string; skewMs?: number; error?: string }): CheckLine {
  if (f.skewMs === undefined)
    return line(
      'clock',
      'warn',
      `${f.endpoint}: ${f.error ?? 'no Date header'}`,
      'check the network path to S3 (AWS_REGION, AWS_ENDPOINT_URL)',
    );
  const s = Math.abs(f.skewMs) / 1000;
  const detail = `${s.toFixed(0)} s ${f.skewMs > 0 ? 'ahead of' : 'behind'} ${f.endpoint}`;
  if (s > 300)
    return line(
      'clock',
      'fail',
      detail,
      'enable NTP (timedatectl set-ntp true): signatures have a 300 s window',
    );
  if (s > 30) return line('clock', 'warn', detail, 'enable NTP (timedatectl set-ntp true)');
  return line('clock', 'ok', detail);
}

export function checkDisk(f: { dataDir: string; freeBytes?: number; minFreeBytes: number }): CheckLine {
  if (f.freeBytes === undefined) return line('free disk', 'skip', `${f.dataDir}: not found`);
  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  const detail = `${gib(f.freeBytes)} free on ${f.dataDir}, minimum ${gib(f.minFreeBytes)}`;
  if (f.freeBytes < f.minFreeBytes)
    return line('free disk', 'fail', detail, 'free space, or put the data folder on the NVMe drive');
  if (f.freeBytes < 2 * f.minFreeBytes)
    return line('free disk', 'warn', detail, 'free space soon: jobs need room for inputs and environments');
  return line('free disk', 'ok', detail);
}

/**
 * The data disk's reserve for Redis's group (contracts' disk-reserve.ts): blocks job output can never
 * eat, so a job filling the disk between two samples of the executor cannot stop Redis. Missing, too
 * small or another group's is a warning: the device works, without that guarantee (docker/README.md).
 */
export function checkDiskReserve(f: {
  dataDir: string;
  facts?: DiskReserveFacts;
  wantBytes: number;
  gid: number;
}): CheckLine {
  if (!f.facts) return line('disk reserve', 'skip', `${f.dataDir}: not found`);
  const problem = diskReserveProblem(f.dataDir, f.facts, f.wantBytes, f.gid);
  if (problem) return line('disk reserve', 'warn', problem.why, problem.fix);
  const mib = Math.floor(reservedBytes(f.facts) / 1048576);
  return line(
    'disk reserve',
    'ok',
    `${mib} MiB reserved for group ${f.gid} on ${f.facts.mount?.source ?? f.dataDir}: job output cannot take them`,
  );
}

/** Interfaces every Jetson or container host has with the same address: never advertised. */
const LOCAL_ONLY = /^(l4tbr\d*|docker\d*|br-.*|veth.*|usb\d*|rndis\d*)$/;

export function checkGossip(f: {
  api: string;
  info?: { name: string; ip: string; port: number };
  error?: string;
  answers?: boolean;
  /** Interface holding the advertised IP on this host, when known. */
  iface?: string;
}): CheckLine {
  if (!f.info)
    return line(
      'gossip',
      'warn',
      `${f.api}: ${f.error ?? 'no answer'}`,
      'start gossip-membership (or pass --members-api)',
    );
  const addr = `${f.info.ip}:${f.info.port}`;
  if (f.info.ip === '192.168.55.1' || (f.iface && LOCAL_ONLY.test(f.iface)))
    return line(
      'gossip',
      'fail',
      `advertises ${addr}${f.iface ? ` (${f.iface})` : ''}: the same on every Jetson or host-local`,
      'set EDGEFLEET_ADVERTISE_ADDR to the address of the default route interface',
    );
  if (f.answers && (f.info.ip.startsWith('127.') || f.info.ip === '::1'))
    return line(
      'gossip',
      'warn',
      `${f.info.name} advertises ${addr}, which answers, but only this machine can reach loopback`,
      'fine for a one-node local set-up; a fleet needs EDGEFLEET_ADVERTISE_ADDR on the LAN',
    );
  if (!f.answers)
    return line(
      'gossip',
      'fail',
      `advertises ${addr}, but nothing answers there on TCP`,
      'open the gossip port (TCP and UDP) in the firewall; check EDGEFLEET_ADVERTISE_ADDR',
    );
  return line('gossip', 'ok', `${f.info.name} advertises ${addr}, which answers`);
}

export function checkNvidiaRuntime(f: {
  inContainer: boolean;
  jetson: boolean;
  cudaNodes: number;
  visibleDevices?: string;
}): CheckLine {
  if (!f.inContainer) return line('nvidia runtime', 'skip', 'not in a container');
  if (f.cudaNodes > 0)
    return line(
      'nvidia runtime',
      'ok',
      `GPU device nodes mounted (NVIDIA_VISIBLE_DEVICES=${f.visibleDevices ?? 'unset'})`,
    );
  return line(
    'nvidia runtime',
    f.jetson ? 'fail' : 'skip',
    'in a container without GPU device nodes',
    f.jetson
      ? 'sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker; compose: EXECUTOR_RUNTIME=nvidia'
      : '',
  );
}

/** `# R36 (release), REVISION: 4.0, ...` → { major: 36, revision: '4.0' }. */
function parseL4tRelease(text: string): { major: number; revision: string } | null {
  const m = /#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)/.exec(text);
  return m ? { major: Number(m[1]), revision: m[2] as string } : null;
}

/** The executor image's L4T (EDGEFLEET_IMAGE_L4T, e.g. `r36.4.0`) vs the device's release file. */
export function checkL4t(f: { deviceRelease?: string; imageL4t?: string }): CheckLine {
  if (f.deviceRelease === undefined)
    return line('l4t release', 'skip', 'not a Jetson (no /etc/nv_tegra_release)');
  const dev = parseL4tRelease(f.deviceRelease);
  if (!dev)
    return line(
      'l4t release',
      'warn',
      'unreadable /etc/nv_tegra_release',
      'check the file (JetPack install)',
    );
  const devText = `R${dev.major}.${dev.revision}`;
  if (!f.imageL4t) return line('l4t release', 'ok', `device ${devText} (no executor image L4T to compare)`);
  // An image reference (nvcr.io/nvidia/l4t-jetpack:r36.4.0) or a bare tag (r36.4.0).
  const img = /^r?(\d+)\.(\d+)/i.exec(f.imageL4t.split(':').pop() ?? '');
  if (!img || Number(img[1]) !== dev.major)
    return line(
      'l4t release',
      'fail',
      `device ${devText}, executor image ${f.imageL4t}`,
      `build the executor for this release: L4T_IMAGE=nvcr.io/nvidia/l4t-jetpack:r${dev.major}.x (JetPack ${dev.major === 35 ? 5 : 6})`,
    );
  return line('l4t release', 'ok', `device ${devText}, executor image ${f.imageL4t}`);
}
