// Chaos, CI-sized: a local node runs ~30 short jobs while services are killed with -9, Redis is
// restarted twice and killed once, and S3 and the webhook fail for a while. Every job must end exactly
// once, with its results in S3 and its notification delivered (duplicates only with the same
// Idempotency-Key), and nothing may stay pending in the streams. The large run: `pnpm --filter
// @edgefleet/cli chaos`.
import { rmSync } from 'node:fs';
import { freePort, startEmulator, startFaultProxy } from '@edgefleet/testkit';
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../src/chaos/plan.js';
import { runChaos } from '../src/chaos/run.js';

describe('chaos (CI size)', () => {
  it('loses and duplicates nothing while services, Redis, S3 and the webhook fail', {
    timeout: 240_000,
  }, async () => {
    const seed = Number(process.env.EDGEFLEET_CHAOS_SEED ?? 0) || Date.now() % 100_000;
    const result = await runChaos({
      seed,
      jobs: 30,
      durationMs: 75_000,
      serviceKills: 6,
      redisRestarts: 2,
      redisKills: 1,
      s3Outages: 1,
      webhookOutages: 1,
      outageMs: 6_000,
      quiesceTimeoutMs: 90_000,
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
    expect(result.problems, detail).toEqual([]);
    // Faults may fail a job (an input download during the S3 outage), not most of them.
    expect(result.verdict.byState.SUCCEEDED ?? 0, detail).toBeGreaterThanOrEqual(20);
    // Local mode's output is kept only when the run failed.
    rmSync(result.nodeLogFile, { force: true });
  });
});
