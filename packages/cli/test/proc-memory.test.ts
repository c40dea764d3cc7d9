import { describe, expect, it } from 'vitest';
import { median, parseKiBFields, procMemory } from '../bench/proc-memory.js';

describe('proc-memory (the memory benchmark)', () => {
  it('reads the kB fields of /proc/<pid>/status and smaps_rollup', () => {
    const f = parseKiBFields(
      'Name:\tnode\nVmHWM:\t   96440 kB\nVmRSS:\t   75892 kB\nThreads:\t11\nPss:   34706 kB\n',
    );
    expect(f.get('VmHWM')).toBe(96_440);
    expect(f.get('VmRSS')).toBe(75_892);
    expect(f.get('Pss')).toBe(34_706);
    expect(f.has('Threads')).toBe(false);
  });

  it('reads this process', () => {
    const m = procMemory(process.pid);
    expect(m?.rssKiB).toBeGreaterThan(0);
    expect(m?.hwmKiB).toBeGreaterThanOrEqual(m?.rssKiB ?? 0);
  });

  it('median: middle value, mean of the two middle values, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
