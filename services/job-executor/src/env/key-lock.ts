// One holder per cache key, across processes: flock(2) on `<locksDir>/<key>.lock`, held by a child
// `flock -x <file> cat` for as long as we keep its stdin open.
//
// Why a child process: Node has no flock, and a pid lock file needs staleness guesses (a Jetson that
// lost power reboots with the same pids in use). A kernel lock is released by the kernel when its
// holder dies, whatever the way: if the executor crashes, its `cat` reads EOF and exits, and the next
// waiter gets the lock. Cost: one short-lived process per acquisition (~5 ms on a Jetson-class CPU).
// Acquired means: `cat` echoed the byte we wrote, so flock has returned and exec'd it.
import { spawn } from 'node:child_process';

export interface HeldLock {
  release(): Promise<void>;
}

export type LockOutcome =
  | { ok: true; lock: HeldLock }
  | { ok: false; reason: 'timeout' | 'aborted' | 'error'; message: string };

export function acquireKeyLock(
  file: string,
  opts: { deadline: number; signal?: AbortSignal | undefined; flockPath?: string; nonBlocking?: boolean },
): Promise<LockOutcome> {
  return new Promise((resolve) => {
    if (opts.signal?.aborted) return resolve({ ok: false, reason: 'aborted', message: 'aborted' });
    const args = opts.nonBlocking ? ['-x', '-n', file, 'cat'] : ['-x', file, 'cat'];
    const child = spawn(opts.flockPath ?? 'flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let settled = false;
    let stderr = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const finish = (o: LockOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const giveUp = (reason: 'timeout' | 'aborted') => {
      child.kill('SIGKILL');
      finish({ ok: false, reason, message: `lock ${file}: ${reason}` });
    };
    const onAbort = () => giveUp('aborted');
    const timer = setTimeout(() => giveUp('timeout'), Math.max(0, opts.deadline - Date.now()));
    timer.unref();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.once('error', (e) => finish({ ok: false, reason: 'error', message: `flock: ${e.message}` }));
    child.stdin.on('error', () => {});
    child.once('exit', (code) => {
      // Exit before the echo: flock failed (-n and busy → 1, or an error).
      if (!settled)
        finish({
          ok: false,
          reason: opts.nonBlocking && code === 1 ? 'timeout' : 'error',
          message: `flock exited ${code}: ${stderr.trim()}`,
        });
    });
    child.stdout.once('data', () => {
      if (settled) {
        child.stdin.end();
        return;
      }
      finish({
        ok: true,
        lock: {
          release: async () => {
            child.stdin.end();
            await exited;
          },
        },
      });
    });
    child.stdin.write('L');
  });
}
