// Chaos, CI-sized: a local node runs 30 short jobs while services are killed with -9, Redis is
// restarted twice and killed once, S3 answers 503 for 60 s and the webhook for 6 s. Every job must
// SUCCEED exactly once (outages are waited out), with its results in S3 and its notification delivered
// (duplicates only with the same Idempotency-Key); nothing may stay pending in the streams and no job
// folder on disk. The large run: `pnpm --filter @edgefleet/cli chaos`.
import { rmSync } from 'node:fs';
import { freePort, startEmulator, startFaultProxy } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../src/chaos/plan.js';
import { runChaos } from '../src/chaos/run.js';

describe('chaos (CI size)', () => {
  it('loses and duplicates nothing while services, Redis, S3 and the webhook fail', {
    timeout: 330_000,
  }, async () => {
    const seed = Number(process.env.EDGEFLEET_CHAOS_SEED ?? 0) || Date.now() % 100_000;
    const result = await runChaos({
      seed,
      jobs: 30,
      // Fault window: the middle 80 s, which holds the 60 s S3 outage.
      durationMs: 100_000,
      serviceKills: 6,
      redisRestarts: 2,
      redisKills: 1,
      s3OutagesMs: [60_000],
      webhookOutagesMs: [6_000],
      // After the last event: jobs held back by the S3 outage (downloads retried at most every 30 s)
      // finish and upload.
      quiesceTimeoutMs: 180_000,
      deps: { startEmulator, startFaultProxy, freePort },
      log: (line) => process.stdout.write(`chaos │ ${line}\n`),
    });
    process.stdout.write(`${formatSummary(result)}\n`);
    const detail = `seed ${seed}; node log ${result.nodeLogFile}\n${result.problems.join('\n')}`;
    expect(result.verdict.jobs, detail).toBe(30);
    expect(result.verdict.lost, detail).toEqual([]);
    expect(result.verdict.doubleTerminal, detail).toEqual([]);
    expect(result.verdict.unexplainedDuplicates, detail).toEqual([]);
    expect(result.pendingJobs, detail).toBe(0);
    expect(result.pendingResults, detail).toBe(0);
    expect(result.foldersLeft, detail).toBe(0);
    expect(result.s3Outages, detail).toEqual([60_000]);
    expect(result.s3Faulted, detail).toBeGreaterThan(0);
    // The plan makes no job fail: every one waits the outages out.
    expect(result.verdict.byState, detail).toEqual({ SUCCEEDED: 30 });
    expect(result.problems, detail).toEqual([]);
    // Local mode's output is kept only when the run failed.
    rmSync(result.nodeLogFile, { force: true });
  });
});
