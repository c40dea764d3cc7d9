// Draining an executor before it is stopped or upgraded: POST /v1/drain on job-executor (what
// `edgefleet drain` sends). The executor stops taking jobs at once and for good (until it restarts),
// lets the jobs it is running finish for up to `waitSeconds`, then hands back the ones still running:
// their processes are stopped and their stream entries stay pending, so the executor that starts
// next runs them again as a new attempt (the same path as a SIGTERM).
//   request  {"waitSeconds": 600}
//   response {"draining": true, "finished": ["job-a"], "handedBack": ["job-b"]}
import { z } from 'zod';

/** The longest a drain waits for running jobs: one day, seconds (jobs may run for hours). */
export const DRAIN_MAX_WAIT_SECONDS = 86_400;

export const DrainRequest = z.strictObject({
  /** Seconds to let running jobs finish before handing them back; 0 hands them back at once. */
  waitSeconds: z.number().int().min(0).max(DRAIN_MAX_WAIT_SECONDS),
});
export type DrainRequest = z.infer<typeof DrainRequest>;

export const DrainResult = z.strictObject({
  draining: z.literal(true),
  /** Jobs that were running when the drain started and ended on their own within the wait. */
  finished: z.array(z.string()),
  /** Jobs stopped at the end of the wait, to run again on the next start. */
  handedBack: z.array(z.string()),
});
export type DrainResult = z.infer<typeof DrainResult>;
