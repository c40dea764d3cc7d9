// The one supervisor of the processes the executor starts (a job's run: process-runner.ts; a build
// step of its environment: env/build-step.ts). It owns what both share: a deadline and an abort signal
// that stop the process, the stop's escalation (the caller's polite `terminate` at once, its `kill`
// after `graceMs`), the sweep of whatever the leader left once it has exited, and the bounded wait for
// its output pipes. What "every process of it" means (a process group, cgroups, a /proc scan) and
// where output goes are the caller's.
import type { ChildProcess } from 'node:child_process';

export interface SuperviseOptions<Why extends string> {
  /** The spawned leader (its stdout and stderr piped). */
  child: ChildProcess;
  /** Time from now until the process is stopped with `timeoutWhy`, ms. */
  timeoutMs: number;
  timeoutWhy: Why;
  /** Aborting stops the process; `whyAborted` names the stop from the abort's reason. */
  signal?: AbortSignal | undefined;
  whyAborted: (reason: unknown) => Why;
  /** The first, polite stop (SIGTERM to everything of the process). Called once. */
  terminate: (why: Why) => void;
  /** Time between `terminate` and `kill`, ms. */
  graceMs: number;
  kill: () => unknown;
  /** Once the leader has exited (or failed to start): stop whatever it left behind. */
  sweep: () => unknown;
  /** How long the output pipes may stay open after the sweep (a stray holder was just killed), ms. */
  drainMs: number;
}

type Supervised<Why extends string> = {
  /** Set when the supervisor stopped the process (timeout or abort). */
  stoppedFor?: Why;
} & ({ code: number | null; signal: NodeJS.Signals | null } | { spawnError: string });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Supervision<Why extends string> {
  /** Stops the process now (the first stop wins; later ones are ignored). */
  stop(why: Why): void;
  /** Settles once the leader has exited (or failed to start), been swept, and its pipes closed. */
  done: Promise<Supervised<Why>>;
}

export function supervise<Why extends string>(o: SuperviseOptions<Why>): Supervision<Why> {
  let stoppedFor: Why | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (why: Why) => {
    if (stoppedFor) return;
    stoppedFor = why;
    o.terminate(why);
    graceTimer = setTimeout(() => void o.kill(), o.graceMs);
    graceTimer.unref();
  };
  const done = watch(o, stop, () => ({ stoppedFor, graceTimer }));
  return { stop, done };
}

async function watch<Why extends string>(
  o: SuperviseOptions<Why>,
  stop: (why: Why) => void,
  state: () => { stoppedFor: Why | undefined; graceTimer: NodeJS.Timeout | undefined },
): Promise<Supervised<Why>> {
  const { child } = o;
  const spawnError = new Promise<{ error: string }>((resolve) =>
    child.once('error', (e) => resolve({ error: e.message })),
  );
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, sig })),
  );
  const closed = new Promise((resolve) => child.once('close', resolve));

  const timer = setTimeout(() => stop(o.timeoutWhy), Math.max(0, o.timeoutMs));
  timer.unref();
  const onAbort = () => stop(o.whyAborted(o.signal?.reason));
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const first = await Promise.race([exited, spawnError]);
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', onAbort);
  // The leader is gone: nothing it started may outlive it in its group, cgroups or marker.
  await o.sweep();
  const { stoppedFor, graceTimer } = state();
  clearTimeout(graceTimer);
  const stopped = stoppedFor ? { stoppedFor } : {};
  if ('error' in first) return { ...stopped, spawnError: first.error };
  // stdout/stderr close once every holder of the pipes is dead.
  if (!(child.stdout?.readableEnded && child.stderr?.readableEnded))
    await Promise.race([closed, sleep(o.drainMs)]);
  return { ...stopped, code: first.code, signal: first.sig };
}
