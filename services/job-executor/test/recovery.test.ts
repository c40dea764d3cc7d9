// Start-up recovery from the run-state files: kill what a previous run left, but never by a pgid
// recorded before a reboot (it may belong to an unrelated process by now).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@edgefleet/service-kit';
import { eventually } from '@edgefleet/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { RunStateStore } from '../src/adapters/run-state.js';
import { recoverLeftovers } from '../src/executor.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefleet-recovery-'));
const children: number[] = [];
afterAll(() => {
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function sleeper(): number {
  const c = spawn('/bin/sleep', ['600'], { detached: true, stdio: 'ignore' });
  c.unref();
  children.push(c.pid!);
  return c.pid!;
}

describe('recoverLeftovers', () => {
  it('kills a recorded process group of this boot, leaves one recorded before a reboot alone', async () => {
    const store = new RunStateStore(dir);
    const thisBoot = sleeper();
    const otherBoot = sleeper();
    await store.write({ jobId: 'same-boot', pgid: thisBoot, cgroupDirs: [], startedAt: 1 });
    await store.write({
      jobId: 'old-boot',
      pgid: otherBoot,
      cgroupDirs: [],
      startedAt: 1,
      bootId: 'not-this-boot',
    });
    expect(await recoverLeftovers(store, silentLogger())).toBe(2);
    await eventually(() => !alive(thisBoot), { what: 'same-boot group killed' });
    expect(alive(otherBoot)).toBe(true);
    expect(await store.list()).toEqual([]);
  });
});
