// Downloads through S3 outages: the executor's S3 client goes through the fault proxy (testkit) in
// front of fauxqs, which answers 503 or cuts connections for as long as a test says.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { eventually, type FaultProxy, logSink, startFaultProxy } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type Harness, pyJob, startHarness } from './support/harness.js';

let h: Harness;
let proxy: FaultProxy;
const sink = logSink('info');
beforeAll(async () => {
  h = await startHarness({
    user: 'ef-exec-outage',
    logger: sink.logger,
    settings: { concurrency: 2 },
    // Short backoff so tests wait seconds, not minutes; the rules are the product's.
    deps: { outageBackoff: { baseMs: 50, capMs: 400 } },
    s3Client: async (emu) => {
      proxy = await startFaultProxy(emu.endpoint);
      return new S3Client({
        endpoint: proxy.url,
        region: emu.region,
        credentials: emu.credentials,
        forcePathStyle: true,
        maxAttempts: 1,
      });
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await proxy?.close();
});

const getOf = (id: string, file: string) => (r: { method: string; url: string }) =>
  r.method === 'GET' && r.url.includes(`/${id}/${file}`);
const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true }).catch(() => [] as string[])).map(String);

/** A job with main.py and a data file, the data read and checked by the job. */
async function twoFileJob(id: string) {
  await h.put(`${id}/data.bin`, Buffer.alloc(256 * 1024, 5));
  return pyJob(h, id, 'import os\nassert os.path.getsize("data.bin") == 256 * 1024\nprint("ok")', {
    inputs: [{ uri: `s3://${BUCKET}/${id}/main.py` }, { uri: `s3://${BUCKET}/${id}/data.bin` }],
  });
}

describe('downloads wait out S3 outages', () => {
  it('an outage shorter than the budget: the record shows the wait, verified files are not fetched again, the job SUCCEEDS', async () => {
    h.settings.downloadOutageSeconds = 60;
    const id = 'outage-short';
    // Network errors first, then 503s: both are outages.
    const reset = proxy.addRule({ match: getOf(id, 'data.bin'), action: { kind: 'reset' }, times: 2 });
    const down = proxy.addRule({ match: getOf(id, 'data.bin'), action: { kind: 'error', status: 503 } });
    try {
      await twoFileJob(id);
      const rec = await eventually(
        async () => {
          const r = await h.record(id);
          return r.waitingSince ? r : undefined;
        },
        { timeoutMs: 20_000, what: 'the record shows the wait' },
      );
      expect(rec.state).toBe('DOWNLOADING');
      expect(rec.detail).toMatch(
        /^waiting for S3 since .* gives up at .*(socket hang up|ServiceUnavailable)/,
      );
      await down.waitForHits(5, 20_000);
      expect(reset.hits).toBe(2);
    } finally {
      down.remove();
      reset.remove();
    }
    const r = await h.terminal(id);
    expect(r).toMatchObject({ state: 'SUCCEEDED' });
    // main.py was verified before the outage and kept: fetched once.
    expect(proxy.requests.filter(getOf(id, 'main.py'))).toHaveLength(1);
    const rec = await h.record(id);
    expect(rec.waitingSince).toBeUndefined();
    expect(rec.attempt).toBe('1');
  });

  it('an outage longer than the budget: DOWNLOAD_FAILED after the budget, nothing half-downloaded left', async () => {
    h.settings.downloadOutageSeconds = 2;
    const id = 'outage-long';
    const down = proxy.addRule({ match: getOf(id, 'data.bin'), action: { kind: 'error', status: 503 } });
    try {
      const t = Date.now();
      await twoFileJob(id);
      const r = await h.terminal(id);
      const took = Date.now() - t;
      expect(r).toMatchObject({ state: 'FAILED', reason: 'DOWNLOAD_FAILED' });
      expect(r.detail).toMatch(/EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS=2/);
      expect(took).toBeGreaterThanOrEqual(2000);
      expect(took).toBeLessThan(15_000);
      expect(down.hits).toBeGreaterThan(2);
      const jobDir = join(h.dataDir, 'jobs', id);
      expect(await filesUnder(join(jobDir, 'work', '.partial'))).toEqual([]);
      expect((await filesUnder(join(jobDir, 'work'))).filter((f) => f.includes('data.bin'))).toEqual([]);
      expect(await h.leftovers(id)).toEqual([]);
    } finally {
      down.remove();
      h.settings.downloadOutageSeconds = 60;
    }
  });

  it('a permanent error (403) ends the job at once, without waiting', async () => {
    const id = 'outage-denied';
    const denied = proxy.addRule({ match: getOf(id, 'data.bin'), action: { kind: 'error', status: 403 } });
    try {
      await twoFileJob(id);
      const r = await h.terminal(id);
      expect(r).toMatchObject({ state: 'FAILED', reason: 'DOWNLOAD_FAILED' });
      expect(denied.hits).toBe(1);
      expect((await h.record(id)).waitingSince).toBeUndefined();
    } finally {
      denied.remove();
    }
  });

  it('cancel while waiting → CANCELED within seconds, and another job runs meanwhile', async () => {
    const id = 'outage-cancel';
    const down = proxy.addRule({ match: getOf(id, 'data.bin'), action: { kind: 'error', status: 503 } });
    try {
      await twoFileJob(id);
      await eventually(async () => (await h.record(id)).waitingSince, { timeoutMs: 20_000 });
      // The waiting job holds one of the two slots: the next job is not blocked behind it.
      const other = 'outage-other';
      await pyJob(h, other, 'print("meanwhile")');
      expect(await h.terminal(other)).toMatchObject({ state: 'SUCCEEDED' });
      expect((await h.record(id)).state).toBe('DOWNLOADING');
      const t = Date.now();
      await h.cancel(id);
      const r = await h.terminal(id);
      expect(Date.now() - t).toBeLessThan(5000);
      expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' });
    } finally {
      down.remove();
    }
  });
});
