import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { intakeBlockedByDisk, STALE_AFTER_MS } from '../src/core/disk-watermark.js';

describe('intake and the data disk', () => {
  const now = 1_000_000;
  it('stops taking jobs below the watermark and says why', () => {
    expect(intakeBlockedByDisk({ freeBytes: 99, at: now }, 100, now)).toMatch(
      /99 bytes free, below EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES=100/,
    );
    expect(intakeBlockedByDisk({ freeBytes: 100, at: now }, 100, now)).toBeNull();
  });
  it('an unknown or stale reading, or a watermark of 0, never blocks', () => {
    expect(intakeBlockedByDisk(undefined, 100, now)).toBeNull();
    expect(intakeBlockedByDisk({ freeBytes: 0, at: now - STALE_AFTER_MS - 1 }, 100, now)).toBeNull();
    expect(intakeBlockedByDisk({ freeBytes: 0, at: now }, 0, now)).toBeNull();
  });
  it.each(['-1', 'lots'])('refuses EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES=%s naming it', (v) => {
    expect(() => loadConfig({ EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES: v })).toThrow(
      /EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES/,
    );
  });
});
