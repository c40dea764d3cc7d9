// Runs one job's entry script, supervised (in the manner of bullmq's sandboxed processors):
// explicit argv, no shell; its own session and process group (detached); the unprivileged job user;
// an allowlisted environment; limits; stdout/stderr to capped files plus a live tail; a timeout and a
// cancel that stop EVERY process of the job (SIGTERM, grace, SIGKILL); a typed result.
//
// The launcher (launcher.ts) starts the job: it joins the job's cgroups, sets the limits and switches
// to the job user before the job's python runs, with the job's environment applied only by its final
// execve.
//
// Output cap: each of stdout and stderr keeps its first `maxLogBytes` bytes; a job that writes more is
// stopped (OUTPUT_LIMIT). Stopping rather than discarding keeps a runaway job from burning the device's
// CPU and the live tail, and the kept head of the log usually shows what went wrong.
//
// Stopping: SIGTERM to the process group, to every pid in the job's cgroups and to every process the
// /proc scan finds (marker or uid); after `killGraceMs`, SIGKILL sweeps (cgroup.kill + the same three
// sources) until a scan finds nothing. When the main process exits by itself, whatever it left
// behind is swept with SIGKILL at once: a job's processes never outlive its run.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { cgroupOomKilled, cgroupPids, type JobCgroup, killCgroupDirs } from './cgroup.js';
import { type LaunchSpec, spawnLauncher } from './launcher.js';
import { scanProcesses } from './proc-scan.js';
import { supervise } from './supervisor.js';

/** `disk`: the disk guard stopped the job (quota or device watermark; the executor says which). */
type StopReason = 'cancel' | 'timeout' | 'output-limit' | 'shutdown' | 'disk';

export interface RunSpec {
  jobId: string;
  /** Interpreter that runs the launcher (root-readable; the system python). */
  launcherPython: string;
  /** The job's argv: [venv python, entrypoint, ...args]. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Job user to switch to; undefined = run as the service's own user. */
  user?: { uid: number; gid: number; groups?: readonly number[] };
  /** Also treat every process of `user.uid` as the job's (safe only when the user runs one job at a time). */
  matchUid?: boolean;
  nproc: number;
  /** RLIMIT_AS in bytes (rlimit mode only). */
  addressSpaceBytes?: number;
  cgroup: JobCgroup | null;
  timeoutMs: number;
  killGraceMs: number;
  maxLogBytes: number;
  stdoutPath: string;
  stderrPath: string;
  /** Live output (for the Redis tail); called with raw chunks within the cap. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Called once the process exists (for the crash-recovery state file). */
  onSpawn?: (pid: number) => void | Promise<void>;
  /** Abort = stop the job now (reason from the abort's `reason`, default cancel). */
  signal?: AbortSignal;
  logger: Logger;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stoppedFor?: StopReason;
  oomKilled: boolean;
  memoryError: boolean;
  spawnError?: string;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KillTarget {
  jobId: string;
  pgid?: number;
  uid?: number;
  cgroupDirs: readonly string[];
}

/** Sends `signal` to every process of the job once. Returns how many were signalled. */
async function signalJob(t: KillTarget, signal: NodeJS.Signals): Promise<number> {
  let n = 0;
  if (t.pgid) {
    try {
      process.kill(-t.pgid, signal);
      n++;
    } catch {
      // group gone
    }
  }
  if (t.cgroupDirs.length) {
    n += (await cgroupPids(t.cgroupDirs)).length;
    await killCgroupDirs(t.cgroupDirs, signal);
  }
  const match = { jobId: t.jobId, ...(t.uid !== undefined ? { uid: t.uid } : {}) };
  for (const pid of await scanProcesses(match)) {
    try {
      process.kill(pid, signal);
      n++;
    } catch {
      // gone
    }
  }
  return n;
}

/** SIGKILL sweeps until nothing of the job is left (bounded). Returns the pids still found (ideally []). */
export async function killJobProcesses(t: KillTarget, maxRounds = 200): Promise<number[]> {
  for (let i = 0; i < maxRounds; i++) {
    const signalled = await signalJob(t, 'SIGKILL');
    // The first sweep found nothing (no process group, an empty cgroup, no marker or uid match): the
    // job has no process, and with a cgroup none can appear (only a member's fork joins it; leaving it
    // takes root). The usual case when a job's main process ends: no second /proc scan.
    if (i === 0 && signalled === 0 && t.cgroupDirs.length > 0) return [];
    await sleep(i < 10 ? 5 : 25);
    const left = new Set([
      ...(await cgroupPids(t.cgroupDirs)),
      ...(await scanProcesses({
        jobId: t.jobId,
        ...(t.uid !== undefined ? { uid: t.uid } : {}),
        ...(t.pgid ? { pgid: t.pgid } : {}),
      })),
    ]);
    if (left.size === 0) return [];
    if (i === maxRounds - 1) return [...left];
  }
  return [];
}

/** Waits until no process of `uid`, zombies included, is left. */
async function waitReaped(uid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await scanProcesses({ uid }, { includeZombies: true })).length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

async function openLog(path: string) {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
}

export async function runJobProcess(spec: RunSpec): Promise<RunResult> {
  const started = Date.now();
  const log = spec.logger;
  const stdoutFile = await openLog(spec.stdoutPath);
  const stderrFile = await openLog(spec.stderrPath);
  const launchSpec: LaunchSpec = {
    procs: spec.cgroup?.procsFiles ?? [],
    nproc: spec.nproc,
    as: spec.addressSpaceBytes ?? null,
    ...(spec.user ? { user: spec.user } : {}),
    argv: spec.argv,
    env: spec.env,
  };
  const target: KillTarget = {
    jobId: spec.jobId,
    cgroupDirs: spec.cgroup?.dirs ?? [],
    ...(spec.user && spec.matchUid ? { uid: spec.user.uid } : {}),
  };
  let stderrTail = '';
  const counts = { stdout: 0, stderr: 0 };
  // One chain per file: FileHandle writes without a position run in the thread pool and may land out
  // of order if issued concurrently (`print` under PYTHONUNBUFFERED writes "42" and "\n" separately).
  const writes: Record<'stdout' | 'stderr', Promise<unknown>> = {
    stdout: Promise.resolve(),
    stderr: Promise.resolve(),
  };

  const child = spawnLauncher(spec.launcherPython, launchSpec, spec.cwd);
  if (child.pid) {
    target.pgid = child.pid;
    await spec.onSpawn?.(child.pid);
  }

  const capture = (name: 'stdout' | 'stderr', file: typeof stdoutFile) => (chunk: Buffer) => {
    const room = spec.maxLogBytes - counts[name];
    const kept = room >= chunk.length ? chunk : chunk.subarray(0, Math.max(0, room));
    counts[name] += chunk.length;
    if (kept.length) {
      writes[name] = writes[name].then(() => file.write(kept)).catch(() => undefined);
      spec.onOutput?.(name, kept);
      if (name === 'stderr') stderrTail = (stderrTail + kept.toString('utf8')).slice(-4096);
    }
    if (counts[name] > spec.maxLogBytes) supervision.stop('output-limit');
  };
  child.stdout?.on('data', capture('stdout', stdoutFile));
  child.stderr?.on('data', capture('stderr', stderrFile));
  const supervision = supervise<StopReason>({
    child,
    timeoutMs: spec.timeoutMs,
    timeoutWhy: 'timeout',
    signal: spec.signal,
    // Abort reason: shutdown or disk when the executor says so, else a cancel.
    whyAborted: (why) => (why === 'shutdown' || why === 'disk' ? why : 'cancel'),
    terminate: (why) => {
      log.info({ why }, 'stopping job processes');
      void signalJob(target, 'SIGTERM');
    },
    graceMs: spec.killGraceMs,
    kill: () => killJobProcesses(target),
    // The main process is gone: nothing of the job may outlive it (an escaped setsid child, a forked
    // worker, a fork bomb's children).
    sweep: async () => {
      const left = await killJobProcesses(target);
      if (left.length) log.error({ pids: left }, 'job processes survived every kill sweep');
      // Killed processes count against the job user's RLIMIT_NPROC until they are reaped (by init, as
      // orphans): wait for that, so the next job of this user starts with its whole allowance.
      if (target.uid !== undefined && !(await waitReaped(target.uid, 5000)))
        log.warn(
          { uid: target.uid },
          'killed job processes not reaped within 5 s (is PID 1 an init that reaps?)',
        );
    },
    drainMs: 2000,
  });
  const run = await supervision.done;
  const { stoppedFor } = run;
  child.stdout?.destroy();
  child.stderr?.destroy();
  await Promise.all([writes.stdout, writes.stderr]);
  for (const [name, file] of [
    ['stdout', stdoutFile],
    ['stderr', stderrFile],
  ] as const) {
    if (counts[name] > spec.maxLogBytes)
      await file
        .write(`\n[edgefleet: output truncated after ${spec.maxLogBytes} bytes; ${counts[name]} written]\n`)
        .catch(() => undefined);
    await file.close().catch(() => undefined);
  }
  const oomKilled = spec.cgroup?.memoryLimited ? await cgroupOomKilled(spec.cgroup.dirs) : false;
  const base = {
    oomKilled,
    memoryError: /\bMemoryError\b/.test(stderrTail),
    durationMs: Date.now() - started,
    stdoutBytes: counts.stdout,
    stderrBytes: counts.stderr,
    ...(stoppedFor ? { stoppedFor } : {}),
  };
  if ('spawnError' in run) return { ...base, exitCode: null, signal: null, spawnError: run.spawnError };
  return { ...base, exitCode: run.code, signal: run.signal };
}
