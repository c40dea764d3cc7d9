import { describe, expect, it } from 'vitest';
import { isTransientError, OUTAGE_BACKOFF, outageRetry, waitOutOutage } from '../src/index.js';

const policy = { baseMs: 100, capMs: 1000 };

describe('outageRetry', () => {
  it('backs off exponentially with full jitter, capped, and never past the deadline', () => {
    const at = (failures: number, now = 0) =>
      outageRetry({ failures, lastProgressAt: 0, now }, 60_000, policy, () => 0.999);
    expect(at(1)).toMatchObject({ retry: true, delayMs: 99 });
    expect(at(3)).toMatchObject({ retry: true, delayMs: 399 });
    expect(at(20)).toMatchObject({ retry: true, delayMs: 999 });
    expect(at(20, 59_500)).toMatchObject({ retry: true, delayMs: 500, deadlineAt: 60_000 });
    expect(outageRetry({ failures: 1, lastProgressAt: 0, now: 0 }, 60_000, policy, () => 0)).toMatchObject({
      delayMs: 0,
    });
  });

  it('gives up once the budget passed without progress, counted from the last progress', () => {
    expect(outageRetry({ failures: 9, lastProgressAt: 0, now: 60_000 }, 60_000, policy, Math.random)).toEqual(
      {
        retry: false,
        deadlineAt: 60_000,
      },
    );
    expect(
      outageRetry({ failures: 9, lastProgressAt: 50_000, now: 60_000 }, 60_000, policy, () => 0.5),
    ).toMatchObject({ retry: true, deadlineAt: 110_000 });
    expect(OUTAGE_BACKOFF.capMs).toBeLessThanOrEqual(60_000);
  });
});

describe('isTransientError', () => {
  const aws = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  it.each([
    [aws('ServiceUnavailable', 503), true],
    [aws('InternalError', 500), true],
    [aws('SlowDown', 503), true],
    [aws('Unknown', 502), true],
    [aws('TooManyRequests', 429), true],
    [aws('TimeoutError'), true],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    [Object.assign(new Error('refused'), { code: 'ECONNREFUSED', syscall: 'connect' }), true],
    [aws('NotFound', 404), false],
    [aws('NoSuchKey', 404), false],
    [aws('AccessDenied', 403), false],
    [aws('InvalidAccessKeyId', 403), false],
    [aws('BadRequest', 400), false],
    [Object.assign(new Error('full'), { code: 'ENOSPC', syscall: 'write' }), false],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
  ])('%s → %s', (err, transient) => {
    expect(isTransientError(err)).toBe(transient);
  });
});

describe('waitOutOutage', () => {
  it('retries transient failures, resets the budget on progress, shows the wait and its end', async () => {
    let t = 0;
    const seen: (number | null)[] = [];
    let tries = 0;
    const r = await waitOutOutage({
      budgetMs: 1000,
      signal: new AbortController().signal,
      policy: { baseMs: 1, capMs: 1 },
      now: () => t,
      random: () => 0,
      onWaiting: (w) => {
        seen.push(w ? w.failures : null);
      },
      attempt: async (progress) => {
        tries++;
        t += 600; // each try takes 0.6 s of clock
        if (tries === 2) progress();
        return tries < 4 ? { ok: false, transient: true, detail: 'down' } : { ok: true };
      },
    });
    expect(r).toEqual({ ok: true });
    // 1 wait, progress at try 2 ends it (null) and a new wait starts, try 4 succeeds.
    expect(seen).toEqual([1, null, 1, 2, null]);
  });

  it('gives up after the budget without progress, and at once on a permanent failure', async () => {
    let t = 0;
    const exhausted = await waitOutOutage({
      budgetMs: 1000,
      signal: new AbortController().signal,
      policy: { baseMs: 1, capMs: 1 },
      now: () => t,
      attempt: async () => {
        t += 300;
        return { ok: false, transient: true, detail: 'down' };
      },
    });
    expect(exhausted).toMatchObject({ ok: false, exhausted: true });
    expect(t).toBe(1200);
    let calls = 0;
    const permanent = await waitOutOutage({
      budgetMs: 1000,
      signal: new AbortController().signal,
      attempt: async () => {
        calls++;
        return { ok: false, detail: 'denied' };
      },
    });
    expect(permanent).toEqual({ ok: false, detail: 'denied' });
    expect(calls).toBe(1);
  });
});
