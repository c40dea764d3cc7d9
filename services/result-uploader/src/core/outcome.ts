// The state recorded at the end of an upload: the executor's outcome when the upload worked, or FAILED
// with the upload's reason (the run's own outcome kept in the detail).
import type { ReasonCode, ResultsEntry, TerminalState } from '@edgefleet/contracts';
import type { UploadFailure } from './classify.js';

export interface FinalOutcome {
  state: TerminalState;
  reason?: ReasonCode | undefined;
  detail?: string | undefined;
}

export function finalOutcome(
  entry: ResultsEntry,
  failure?: Pick<UploadFailure, 'code' | 'detail'>,
): FinalOutcome {
  const state = entry.state === 'RUNNING' ? 'FAILED' : entry.state;
  if (!failure) return { state, reason: entry.reason, detail: entry.detail };
  const run = `run ended ${entry.state}${entry.reason ? ` (${entry.reason})` : ''}`;
  return { state: 'FAILED', reason: failure.code, detail: `${failure.detail}; ${run}`.slice(0, 4096) };
}
