// How a finished run maps to the job's outcome (the state the uploader records, and its reason).
//
// Precedence, first match wins: the executor's own decisions (cancel, timeout, output flood) explain
// a kill better than the signal it caused; then the memory limit (a cgroup OOM kill, or Python's
// MemoryError under RLIMIT_AS); then the process's own exit (0 → SUCCEEDED, a signal → KILLED_BY_SIGNAL,
// else EXIT_NONZERO).
import type { ReasonCode, TerminalState } from '@edgefleet/contracts';

export interface RunFacts {
  exitCode: number | null;
  signal: string | null;
  /** Why the executor stopped the job, if it did. */
  stoppedFor?: 'cancel' | 'timeout' | 'output-limit' | 'shutdown' | 'disk';
  /** The cgroup counted an OOM kill. */
  oomKilled?: boolean;
  /** The last bytes of stderr show Python's MemoryError (RLIMIT_AS). */
  memoryError?: boolean;
  /** Could not start at all (spawn error). */
  spawnError?: string;
}

export interface Outcome {
  state: TerminalState;
  reason?: ReasonCode;
  detail?: string;
}

export function runOutcome(f: RunFacts, limits: { timeoutMs: number; maxLogBytes: number }): Outcome {
  if (f.spawnError)
    return { state: 'FAILED', reason: 'INTERNAL_ERROR', detail: `could not start: ${f.spawnError}` };
  switch (f.stoppedFor) {
    case 'cancel':
      return { state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', detail: 'canceled while running' };
    case 'timeout':
      return { state: 'TIMED_OUT', reason: 'TIMEOUT', detail: `ran longer than ${limits.timeoutMs} ms` };
    case 'output-limit':
      return {
        state: 'FAILED',
        reason: 'OUTPUT_LIMIT',
        detail: `wrote more than ${limits.maxLogBytes} bytes to stdout or stderr; the first ${limits.maxLogBytes} are kept`,
      };
    case 'disk':
      return { state: 'FAILED', reason: 'DISK_FULL', detail: 'stopped by the disk guard' };
    case 'shutdown':
      return { state: 'FAILED', reason: 'EXECUTOR_CRASHED', detail: 'executor stopped during the run' };
    default:
  }
  if (f.oomKilled)
    return { state: 'FAILED', reason: 'MEMORY_LIMIT', detail: 'killed by the memory limit (OOM)' };
  if (f.memoryError && f.exitCode !== 0)
    return { state: 'FAILED', reason: 'MEMORY_LIMIT', detail: 'MemoryError under the address-space limit' };
  if (f.exitCode === 0) return { state: 'SUCCEEDED' };
  if (f.signal) return { state: 'FAILED', reason: 'KILLED_BY_SIGNAL', detail: `killed by ${f.signal}` };
  return { state: 'FAILED', reason: 'EXIT_NONZERO', detail: `exit code ${f.exitCode}` };
}
