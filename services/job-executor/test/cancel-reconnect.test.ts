// A cancel whose control message is lost while Redis restarts still stops the running job: the
// executor re-reads the cancel flags of its running jobs after reconnecting and every few seconds.
import { eventually, logSink } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, pyJob, startHarness } from './support/harness.js';

let h: Harness;
const sink = logSink('info');
beforeAll(async () => {
  h = await startHarness({ user: 'ef-exec-cancel', logger: sink.logger, settings: { cancelCheckMs: 2000 } });
});
afterAll(async () => {
  await h?.stop();
});

describe('cancel across a Redis restart', () => {
  it('a cancel recorded while the control message is lost ends the job CANCELED within 5 s of Redis returning', async () => {
    const id = 'cancel-across-restart';
    await pyJob(h, id, 'import time\nfor _ in range(1200):\n    time.sleep(0.1)\n');
    await eventually(async () => (await h.record(id)).state === 'RUNNING', {
      timeoutMs: 30_000,
      what: 'job running',
    });
    await h.redisServer.kill('SIGKILL');
    await h.redisServer.restart();
    const back = Date.now();
    // The receiver records the cancel; its PUBLISH went nowhere (the executor's subscriber was
    // reconnecting), so no control message is sent here at all.
    const other = h.redisServer.client();
    try {
      await other.hset(h.names.jobKey(id), 'cancelRequested', '1');
    } finally {
      other.disconnect();
    }
    const r = await h.terminal(id, 10_000);
    expect(Date.now() - back).toBeLessThan(5000);
    expect(r).toMatchObject({ state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' });
    expect(await h.leftovers(id)).toEqual([]);
  });
});
