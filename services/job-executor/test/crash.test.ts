// kill -9 of the built executor (dist/main.js) mid-run, then restart: the previous run's processes
// are killed first, the job runs again as a new attempt, and once its attempts are used it ends
// FAILED ATTEMPTS_EXHAUSTED. Exactly one terminal results entry, never a lost job.
import { eventually, type ServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanProcesses } from '../src/adapters/proc-scan.js';
import { type ProcessHarness, startProcessHarness } from './support/process-harness.js';

let h: ProcessHarness;

beforeAll(async () => {
  h = await startProcessHarness({
    name: 'crash',
    user: 'ef-exec-crash',
    redisPassword: 'redis-secret-pw',
    env: { EDGEFLEET_CLAIM_IDLE_MS: '2000', EDGEFLEET_API_TOKEN: 'executor-api-token-secret' },
  });
});
afterAll(async () => {
  await h?.stop();
});

const startExecutor = async (): Promise<ServiceProcess> => (await h.start()).p;
const submit = (jobId: string) => h.submit({ jobId, inputs: [{ uri: `s3://${h.bucket}/crash/main.py` }] });
const results = (jobId: string) => h.results(jobId);

/** Waits until the job's user code runs (its processes carry the marker) in the given attempt. */
async function runningPids(jobId: string, attempt: number): Promise<number[]> {
  return eventually(
    async () => {
      const rec = await h.redis.hgetall(h.names.jobKey(jobId));
      if (rec.state !== 'RUNNING' || rec.attempt !== String(attempt)) return null;
      const pids = await scanProcesses({ jobId });
      return pids.length >= 2 ? pids : null; // parent + the setsid grandchild
    },
    { timeoutMs: 20_000, what: `attempt ${attempt} running` },
  );
}

describe('SIGTERM of the executor mid-run', () => {
  it('hands the job back: processes stopped, clean exit, no result, re-run after restart', async () => {
    const jobId = 'sigterm-1';
    await h.put(
      'crash/main.py',
      'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nprint("started", flush=True)\ntime.sleep(600)',
    );
    let p = await startExecutor();
    await submit(jobId);
    await runningPids(jobId, 1);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect(await results(jobId)).toEqual([]);
    expect(((await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number])[0]).toBe(1);
    p = await startExecutor();
    await runningPids(jobId, 2);
    await h.redis.hset(h.names.jobKey(jobId), 'cancelRequested', '1');
    await h.redis.publish(h.names.controlChannel, JSON.stringify({ kind: 'cancel', jobId, at: Date.now() }));
    const r = await eventually(async () => (await results(jobId))[0], { timeoutMs: 20_000, what: 'result' });
    expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', attempt: 2 });
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

describe('kill -9 of the executor mid-run', () => {
  it('kills the orphans on restart, re-runs, then ends ATTEMPTS_EXHAUSTED with one result', async () => {
    await h.put(
      'crash/main.py',
      [
        'import os, time',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    time.sleep(600)',
        'print("started", flush=True)',
        'time.sleep(600)',
      ].join('\n'),
    );
    const jobId = 'crash-1';
    let p = await startExecutor();
    await submit(jobId);
    const first = await runningPids(jobId, 1);
    p.proc.kill('SIGKILL');
    await p.exited;
    // The orphans outlive the executor...
    expect((await scanProcesses({ jobId })).length).toBeGreaterThanOrEqual(2);

    p = await startExecutor();
    const second = await runningPids(jobId, 2);
    // ...until the restart kills them before the job runs again.
    expect(second.filter((pid) => first.includes(pid))).toEqual([]);
    expect(p.output()).toMatch(/killed what a previous run left/);
    expect(await results(jobId)).toEqual([]);

    p.proc.kill('SIGKILL');
    await p.exited;
    p = await startExecutor();
    const r = await eventually(async () => (await results(jobId))[0], { timeoutMs: 20_000, what: 'result' });
    expect(r).toMatchObject({ state: 'FAILED', reason: 'ATTEMPTS_EXHAUSTED', hasFiles: true, attempt: 2 });
    expect(await scanProcesses({ jobId })).toEqual([]);
    expect((await h.redis.hgetall(h.names.jobKey(jobId))).attempt).toBe('2');
    const pending = (await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number];
    expect(pending[0]).toBe(0);
    expect(await results(jobId)).toHaveLength(1);
    // No secret in the service's logs.
    expect(p.output() + h.procs.map((x) => x.output()).join('')).not.toMatch(
      /redis-secret-pw|executor-api-token-secret/,
    );
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
