// Runs one build step (python -m venv, pip install) under the executor's process supervisor
// (adapters/supervisor.ts): explicit argv, no shell, its own process group, output appended to a log
// file, a wall-clock deadline and an abort signal.
// On timeout or abort the whole group gets SIGTERM, then SIGKILL after `graceMs`; once the leader has
// exited the group gets a final SIGKILL, so nothing pip started (a build backend, a download helper)
// outlives the step in its group. A child that left the group (setsid) is the caller's to stop:
// with `launch`, the step runs through the job launcher (adapters/launcher.ts), which puts it in the
// caller's cgroups before pip's first instruction, and the caller sweeps them (and its marker) after.
import { type ChildProcess, spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { maskUrlCredentials } from '@edgefleet/contracts';
import { spawnLauncher } from '../adapters/launcher.js';
import { supervise } from '../adapters/supervisor.js';

/** Kept from stderr for error reporting, in bytes (the full output is in the log file). */
const STDERR_TAIL_BYTES = 64 * 1024;

export type StepOutcome =
  | { kind: 'exited'; code: number; stderr: string }
  | { kind: 'signaled'; signal: string; stderr: string }
  | { kind: 'timeout'; stderr: string }
  | { kind: 'aborted'; stderr: string }
  | { kind: 'spawn-failed'; message: string };

export interface StepOptions {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  log: WriteStream;
  /** Absolute deadline, ms since epoch (Date.now() clock). */
  deadline: number;
  signal?: AbortSignal | undefined;
  /** Time between SIGTERM and SIGKILL, in ms. */
  graceMs: number;
  /** Called with the process id once spawned (tests check that it is gone afterwards). */
  onSpawn?: (pid: number) => void;
  /** Run as this user (supplementary groups are dropped); needs root. */
  user?: { uid: number; gid: number } | undefined;
  /** Start through the launcher (root only): `python` runs it, `procs` are the cgroups it joins. */
  launch?: { python: string; procs: readonly string[] } | undefined;
}

const killGroup = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already gone.
  }
};

export async function runStep(o: StepOptions): Promise<StepOutcome> {
  if (o.argv[0] === undefined) return { kind: 'spawn-failed', message: 'empty argv' };
  if (o.signal?.aborted) return { kind: 'aborted', stderr: '' };
  // The argv holds the device's index URLs, which may carry credentials; install.log is uploaded.
  o.log.write(`$ ${maskUrlCredentials(o.argv.join(' '))}\n`);
  const [cmd, ...args] = o.argv as [string, ...string[]];
  const child: ChildProcess = o.launch
    ? spawnLauncher(
        o.launch.python,
        { procs: o.launch.procs, argv: o.argv, env: o.env, ...(o.user ? { user: o.user } : {}) },
        o.cwd,
      )
    : spawn(cmd, args, {
        cwd: o.cwd,
        env: o.env,
        detached: true, // own process group: the kill reaches pip's children too
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(o.user ? { uid: o.user.uid, gid: o.user.gid } : {}),
      });
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => o.log.write(b));
  child.stderr?.on('data', (b: Buffer) => {
    o.log.write(b);
    stderr += b.toString('utf8');
    if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.slice(-STDERR_TAIL_BYTES);
  });
  child.once('spawn', () => {
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
  });
  const group = (sig: NodeJS.Signals) => () => {
    if (child.pid !== undefined) killGroup(child.pid, sig);
  };
  const r = await supervise<'timeout' | 'aborted'>({
    child,
    timeoutMs: o.deadline - Date.now(),
    timeoutWhy: 'timeout',
    signal: o.signal,
    whyAborted: () => 'aborted',
    terminate: (why) => {
      o.log.write(`\n[edgefleet] ${why === 'timeout' ? 'install timed out' : 'install aborted'}: SIGTERM\n`);
      group('SIGTERM')();
    },
    graceMs: o.graceMs,
    kill: group('SIGKILL'),
    // Whatever the leader left behind in its group goes too.
    sweep: group('SIGKILL'),
    drainMs: 1000,
  }).done;
  if ('spawnError' in r) return { kind: 'spawn-failed', message: r.spawnError };
  if (r.stoppedFor) return { kind: r.stoppedFor, stderr };
  if (r.code !== null) return { kind: 'exited', code: r.code, stderr };
  return { kind: 'signaled', signal: r.signal ?? 'unknown', stderr };
}
