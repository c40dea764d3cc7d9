// The phase machine: what the executor does with a `jobs` entry given the job's record, and the
// states it moves through. The transitions themselves are contracts' TRANSITIONS, applied by
// service-kit's transitionJob; this file only decides.
//
//   QUEUED ─► DOWNLOADING ─► INSTALLING ─► RUNNING ─► (results entry; the uploader records the rest)
//      ▲ a reclaimed entry whose record is DOWNLOADING/INSTALLING/RUNNING is a crashed attempt:
//        run again from a clean workspace while attempts remain, else ATTEMPTS_EXHAUSTED.
//        An attempt that crashed while DOWNLOADING never ran job code, so the job cannot have caused
//        the crash (a restart or power cut, likely while it waited out an S3 outage): it gets
//        DOWNLOAD_CRASH_ALLOWANCE attempts more than maxAttempts, a bound that still stops a loop.
import { isTerminal, type JobState } from '@edgefleet/contracts';

export interface RecordView {
  state: JobState;
  attempt: number;
  cancelRequested: boolean;
  /** The executor already handed this attempt's result to the uploader (a duplicate entry). */
  handedOff?: boolean;
}

export type StartDecision =
  /** No record: the receiver always creates one first, so the entry is bogus. */
  | { kind: 'missing' }
  /** Terminal (e.g. canceled while queued) or already handed to the uploader: acknowledge. */
  | { kind: 'ack'; why: string }
  /** Cancel requested before the job started: CANCELED directly (nothing to upload). */
  | { kind: 'cancel-queued' }
  /** Cancel requested while a crashed attempt was in flight: end CANCELED with its files. */
  | { kind: 'cancel-started' }
  /** Every attempt used by crashed runs. */
  | { kind: 'exhausted'; attempts: number }
  /** Run: first attempt (from QUEUED) or again after a crash. */
  | { kind: 'run'; from: JobState; rerun: boolean };

/** Attempts beyond maxAttempts for a job whose crashed attempt had not yet left DOWNLOADING. */
export const DOWNLOAD_CRASH_ALLOWANCE = 8;

export function decideStart(rec: RecordView | null, maxAttempts: number): StartDecision {
  if (!rec) return { kind: 'missing' };
  if (isTerminal(rec.state)) return { kind: 'ack', why: `record is already ${rec.state}` };
  if (rec.state === 'UPLOADING' || rec.handedOff)
    return { kind: 'ack', why: 'result already handed to the uploader' };
  if (rec.state === 'QUEUED')
    return rec.cancelRequested ? { kind: 'cancel-queued' } : { kind: 'run', from: 'QUEUED', rerun: false };
  // DOWNLOADING / INSTALLING / RUNNING: a previous attempt did not finish.
  if (rec.cancelRequested) return { kind: 'cancel-started' };
  const limit = rec.state === 'DOWNLOADING' ? maxAttempts + DOWNLOAD_CRASH_ALLOWANCE : maxAttempts;
  if (rec.attempt >= limit) return { kind: 'exhausted', attempts: rec.attempt };
  return { kind: 'run', from: rec.state, rerun: true };
}
