// POST /v1/drain on the built executor (what `edgefleet drain` sends before an upgrade): it takes no
// more jobs; a running job that ends within the wait is reported finished with its result handed on;
// one still running at the end of the wait is handed back (processes stopped, no result, its entry
// pending) and runs again, as a new attempt, in the executor started next.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanProcesses } from '../src/adapters/proc-scan.js';
import { type ProcessHarness, startProcessHarness } from './support/process-harness.js';

const cli = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));
const TOKEN = 'executor-drain-token-0123456789';
let h: ProcessHarness;
/** A folder the job user can read: a job waits there for the file `go`. */
let signals: string;

beforeAll(async () => {
  h = await startProcessHarness({
    name: 'drain',
    user: 'ef-exec-drain',
    env: { EDGEFLEET_API_TOKEN: TOKEN },
    waitFor: '/readyz',
  });
  signals = mkdtempSync(join(tmpdir(), 'edgefleet-drain-signals-'));
  chmodSync(signals, 0o755);
  // Runs until `go` appears in the signals folder, then writes an output and ends.
  await h.put(
    'wait/main.py',
    [
      'import os, sys, time',
      `go = os.path.join(${JSON.stringify(signals)}, "go-" + os.environ["EDGEFLEET_JOB_ID"])`,
      'print("started", flush=True)',
      'while not os.path.exists(go):',
      '    time.sleep(0.05)',
      'open(os.path.join(os.environ["EDGEFLEET_OUTPUT_DIR"], "done.txt"), "w").write("done")',
    ].join('\n'),
  );
});
afterAll(async () => {
  await h?.stop();
  if (signals) rmSync(signals, { recursive: true, force: true });
});

const startExecutor = () => h.start();
const submit = (jobId: string) => h.submit({ jobId, inputs: [{ uri: `s3://${h.bucket}/wait/main.py` }] });
const results = (jobId: string) => h.results(jobId);

const running = (jobId: string, attempt: number) =>
  eventually(
    async () => {
      const rec = await h.redis.hgetall(h.names.jobKey(jobId));
      return (
        rec.state === 'RUNNING' && rec.attempt === String(attempt) && (await scanProcesses({ jobId })).length
      );
    },
    { timeoutMs: 30_000, what: `${jobId} attempt ${attempt} running` },
  );

const drain = (url: string, body: unknown, token = TOKEN) =>
  fetch(`${url}/v1/drain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

/** Redis clients of this executor's stream reader (the consumer's blocking connection). */
const readers = async () =>
  ((await h.redis.client('LIST')) as string).split('\n').filter((l) => /name=\S*:blocking\b/.test(l)).length;

describe('drain', () => {
  it('refuses a request without the token or with a bad body, draining nothing', async () => {
    const { p, url } = await startExecutor();
    expect((await drain(url, { waitSeconds: 1 }, 'wrong-token-wrong-token-000')).status).toBe(401);
    const bad = await drain(url, { waitSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    expect((await drain(url, { wait: 5 })).status).toBe(400);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);

  it('a job ending within the wait is finished; then no job is taken until the restart', async () => {
    const { p, url } = await startExecutor();
    await submit('finishes-1');
    await running('finishes-1', 1);
    const answer = drain(url, { waitSeconds: 60 });
    // Taking no more jobs once the drain started: the stream reader is gone while the job still runs.
    await eventually(async () => (await readers()) === 0, { timeoutMs: 10_000, what: 'reader closed' });
    writeFileSync(join(signals, 'go-finishes-1'), '');
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ draining: true, finished: ['finishes-1'], handedBack: [] });
    // Its result went on to the uploader, as any job's.
    expect(await results('finishes-1')).toEqual([expect.objectContaining({ state: 'SUCCEEDED' })]);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { redis: true, takingJobs: false } });

    // A job sent now waits for the next executor.
    await submit('after-drain-1');
    writeFileSync(join(signals, 'go-after-drain-1'), '');
    expect(((await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number])[0]).toBe(0);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect((await h.redis.hgetall(h.names.jobKey('after-drain-1'))).state).toBe('QUEUED');
    const next = await startExecutor();
    const r = await eventually(async () => (await results('after-drain-1'))[0], {
      timeoutMs: 30_000,
      what: 'the queued job run by the next executor',
    });
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
    expect(await next.p.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('a job still running at the end of the wait is handed back and runs again after the restart', async () => {
    const { p, url } = await startExecutor();
    await submit('handed-back-1');
    await running('handed-back-1', 1);
    const res = await drain(url, { waitSeconds: 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ draining: true, finished: [], handedBack: ['handed-back-1'] });
    expect(await scanProcesses({ jobId: 'handed-back-1' })).toEqual([]);
    expect(await results('handed-back-1')).toEqual([]);
    expect(((await h.redis.xpending(h.names.jobsStream, 'job-executor')) as [number])[0]).toBe(1);
    expect(await p.stop('SIGTERM')).toBe(0);

    const next = await startExecutor();
    await running('handed-back-1', 2);
    writeFileSync(join(signals, 'go-handed-back-1'), '');
    const r = await eventually(async () => (await results('handed-back-1'))[0], {
      timeoutMs: 30_000,
      what: 'the handed-back job run again',
    });
    expect(r).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(await next.p.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('edgefleet drain: the token from EDGEFLEET_API_TOKEN_FILE, the result as JSON; a bad --wait is a usage error', async () => {
    const { p, url } = await startExecutor();
    const tokenFile = join(signals, 'api-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const env = { PATH: process.env.PATH ?? '', HOME: signals, EDGEFLEET_API_TOKEN_FILE: tokenFile };
    const usage = spawnSync(process.execPath, [cli, 'drain', '--wait', 'soon', '--executor', url], {
      env,
      encoding: 'utf8',
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--wait takes whole seconds/);
    const r = spawnSync(process.execPath, [cli, 'drain', '--wait', '0', '--executor', url, '--json'], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ draining: true, finished: [], handedBack: [] });
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect(await p.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
