// Graceful shutdown: on SIGTERM or SIGINT, run the closers in order (the reverse of start-up, as
// main.ts lists them), each bounded by what is left of one overall deadline; exit 0 when all closed,
// 1 when the deadline passed or a closer threw. A second signal exits at once.
import type { Logger } from 'pino';
import { errorFields } from './logger.js';

export interface Closer {
  name: string;
  close(): Promise<void> | void;
}

export interface ShutdownSettings {
  logger: Logger;
  deadlineMs: number;
  closers: Closer[];
  /** For tests: what to do instead of process.exit. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/** Runs closers in order within the deadline. Resolves to true when everything closed in time. */
export async function closeAll(closers: Closer[], deadlineMs: number, logger: Logger): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  let clean = true;
  for (const c of closers) {
    const left = deadline - Date.now();
    if (left <= 0) {
      logger.error({ closer: c.name }, 'shutdown deadline passed before closing');
      clean = false;
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(() => c.close())
        .then(() => 'closed' as const)
        .catch((err) => {
          logger.error({ err: errorFields(err), closer: c.name }, 'close failed');
          return 'failed' as const;
        }),
      new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), left);
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== 'closed') clean = false;
    if (outcome === 'timeout') logger.error({ closer: c.name }, 'close timed out');
  }
  return clean;
}

/** Installs the signal handlers. Returns a function that triggers the same shutdown. */
export function installShutdown(s: ShutdownSettings): (reason: string) => Promise<void> {
  const exit = s.exit ?? ((code: number) => process.exit(code));
  let started: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    if (started) return started;
    s.logger.info({ reason, deadlineMs: s.deadlineMs }, 'shutting down');
    started = closeAll(s.closers, s.deadlineMs, s.logger).then((clean) => {
      s.logger.info({ clean }, 'stopped');
      exit(clean ? 0 : 1);
    });
    return started;
  };
  for (const sig of s.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])) {
    process.on(sig, () => {
      if (started) {
        s.logger.warn({ signal: sig }, 'second signal: exiting now');
        exit(1);
        return;
      }
      void shutdown(sig);
    });
  }
  return shutdown;
}
