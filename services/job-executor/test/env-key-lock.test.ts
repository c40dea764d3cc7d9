// The per-key lock: one holder across processes, waiters queue, a dead holder frees it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireKeyLock } from '../src/env/key-lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefleet-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const soon = (ms = 5000) => Date.now() + ms;

describe('acquireKeyLock', () => {
  it('admits one holder; a waiter gets the lock when it is released', async () => {
    const file = join(dir, 'a.lock');
    const first = await acquireKeyLock(file, { deadline: soon() });
    if (!first.ok) throw new Error(first.message);
    expect(await acquireKeyLock(file, { deadline: soon(), nonBlocking: true })).toMatchObject({
      ok: false,
      reason: 'timeout',
    });
    let second = false;
    const waiting = acquireKeyLock(file, { deadline: soon() }).then((r) => {
      second = true;
      return r;
    });
    // The waiter is blocked in flock while we hold the lock: it must not have resolved yet.
    await acquireKeyLock(file, { deadline: soon(), nonBlocking: true });
    expect(second).toBe(false);
    await first.lock.release();
    const got = await waiting;
    expect(got.ok).toBe(true);
    if (got.ok) await got.lock.release();
  });

  it('times out and honours an abort signal while waiting', async () => {
    const file = join(dir, 'b.lock');
    const held = await acquireKeyLock(file, { deadline: soon() });
    if (!held.ok) throw new Error(held.message);
    expect(await acquireKeyLock(file, { deadline: Date.now() + 200 })).toMatchObject({
      ok: false,
      reason: 'timeout',
    });
    const ac = new AbortController();
    const p = acquireKeyLock(file, { deadline: soon(), signal: ac.signal });
    ac.abort();
    expect(await p).toMatchObject({ ok: false, reason: 'aborted' });
    await held.lock.release();
  });

  it('is freed by the kernel when the holding process dies (no stale lock after a crash)', async () => {
    const file = join(dir, 'c.lock');
    // Another process takes the lock and prints once it holds it, then is killed without unlocking.
    const holder = spawn('flock', ['-x', file, 'sh', '-c', 'echo held; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    await new Promise((r) => holder.stdout.once('data', r));
    expect(await acquireKeyLock(file, { deadline: soon(), nonBlocking: true })).toMatchObject({ ok: false });
    process.kill(-(holder.pid ?? 0), 'SIGKILL');
    const got = await acquireKeyLock(file, { deadline: soon() });
    expect(got.ok).toBe(true);
    if (got.ok) await got.lock.release();
  });
});
