// limits.gpu at intake: the receiver as an operator runs it (a real process, a real Redis), with the
// GPU detected from a device folder the test makes (EDGEFLEET_DEVICE_ROOT): empty (no GPU) or
// holding a character device named nvmap (mknod 1,3), as on a Jetson.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisNames } from '@edgefleet/contracts';
import { freePort, type RedisServer, startRedisServer, startServiceProcess } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideIntake } from '../src/core/intake.js';
import { DEFAULT_POLICY, jobMessage, resultsInStream, unique } from './helpers.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redis: RedisServer;
let noGpu: string;
let jetson: string;
beforeAll(async () => {
  redis = await startRedisServer();
  noGpu = mkdtempSync(join(tmpdir(), 'edgefleet-dev-none-'));
  jetson = mkdtempSync(join(tmpdir(), 'edgefleet-dev-gpu-'));
  execFileSync('mknod', ['-m', '0660', join(jetson, 'nvmap'), 'c', '1', '3']);
  chmodSync(jetson, 0o755);
});
afterAll(async () => {
  await redis.stop();
  rmSync(noGpu, { recursive: true, force: true });
  rmSync(jetson, { recursive: true, force: true });
});

async function receiver(env: Record<string, string>) {
  const port = await freePort();
  const prefix = unique('gpu');
  const p = startServiceProcess(entry, {
    env: {
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redis.url,
      EDGEFLEET_REDIS_PREFIX: prefix,
      EDGEFLEET_REQUIRE_DURABILITY: 'false',
      ...env,
    },
  });
  await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
  const submit = (body: unknown) =>
    fetch(`http://127.0.0.1:${port}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return { p, submit, names: redisNames(prefix) };
}

describe('limits.gpu', () => {
  it('on a device without a GPU: REJECTED GPU_UNAVAILABLE at intake, with the terminal entry that notifies', async () => {
    const r = await receiver({ EDGEFLEET_DEVICE_ROOT: noGpu });
    try {
      await r.p.waitForOutput(/no GPU: jobs needing one are rejected/);
      const res = await r.submit(jobMessage('needs-gpu', { limits: { gpu: true } }));
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ jobId: 'needs-gpu', reason: 'GPU_UNAVAILABLE' });
      const client = redis.client();
      try {
        expect(await client.hget(r.names.jobKey('needs-gpu'), 'state')).toBe('REJECTED');
        expect(await client.hget(r.names.jobKey('needs-gpu'), 'reason')).toBe('GPU_UNAVAILABLE');
        // The uploader notifies the server from this entry, as for every rejection.
        expect(await resultsInStream(client, r.names)).toMatchObject([
          { jobId: 'needs-gpu', event: 'terminal', state: 'REJECTED', reason: 'GPU_UNAVAILABLE' },
        ]);
        expect(await client.xlen(r.names.jobsStream)).toBe(0);
      } finally {
        client.disconnect();
      }
      // A job that does not ask for the GPU runs as before.
      expect((await r.submit(jobMessage('cpu-only'))).status).toBe(202);
    } finally {
      expect(await r.p.stop('SIGTERM')).toBe(0);
    }
  });

  it('on a device with GPU nodes (or EDGEFLEET_GPU=true): the job is queued', async () => {
    const r = await receiver({ EDGEFLEET_DEVICE_ROOT: jetson });
    try {
      await r.p.waitForOutput(/GPU present/);
      expect(r.p.output()).toContain(join(jetson, 'nvmap'));
      expect((await r.submit(jobMessage('gpu-ok', { limits: { gpu: true } }))).status).toBe(202);
    } finally {
      expect(await r.p.stop('SIGTERM')).toBe(0);
    }
    const forced = await receiver({ EDGEFLEET_DEVICE_ROOT: noGpu, EDGEFLEET_GPU: 'true' });
    try {
      expect((await forced.submit(jobMessage('gpu-forced', { limits: { gpu: true } }))).status).toBe(202);
    } finally {
      expect(await forced.p.stop('SIGTERM')).toBe(0);
    }
  });

  it('a bad EDGEFLEET_GPU stops the start, naming the variable', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_GPU: 'maybe' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_GPU: expected true or false/);
  });

  it('the decision: only limits.gpu on a device known to lack one is refused', () => {
    const body = (gpu?: boolean) =>
      JSON.stringify(jobMessage('d1', gpu === undefined ? {} : { limits: { gpu } }));
    const none = { ...DEFAULT_POLICY, gpu: { present: false, because: 'test' } };
    expect(decideIntake(body(true), undefined, none)).toMatchObject({
      kind: 'reject',
      code: 'GPU_UNAVAILABLE',
    });
    expect(decideIntake(body(false), undefined, none).kind).toBe('job');
    expect(decideIntake(body(), undefined, none).kind).toBe('job');
    const some = { ...DEFAULT_POLICY, gpu: { present: true, because: 'test' } };
    expect(decideIntake(body(true), undefined, some).kind).toBe('job');
  });
});
