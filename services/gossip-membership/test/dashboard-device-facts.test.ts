// The dashboard tile's device-fact lines: present facts shown, absent ones left out (never "0").
import { describe, expect, it } from 'vitest';
import { gpuText, ramText } from '../dashboard/src/device-facts.js';

describe('dashboard device facts', () => {
  it('shows GPU load, temperature and power mode, and RAM', () => {
    const hw = { gpuPct: 73, tempC: 61.1, power: 'MAXN_SUPER', ramMiB: 5874, ramTotalMiB: 7620 };
    expect(gpuText(hw)).toBe('GPU 73% · 61.1 °C · MAXN_SUPER');
    expect(ramText(hw)).toBe('RAM 5.7 GiB of 7.4 GiB');
  });

  it('leaves out what the node does not report', () => {
    expect(gpuText(undefined)).toBeUndefined();
    expect(ramText(undefined)).toBeUndefined();
    expect(gpuText({ power: 'MAXN' })).toBe('MAXN');
    expect(gpuText({ tempC: 45 })).toBe('45.0 °C');
    expect(gpuText({ ramMiB: 1, ramTotalMiB: 2 })).toBeUndefined();
    expect(ramText({ ramMiB: 900 })).toBeUndefined();
    expect(gpuText({ gpuPct: 0 })).toBe('GPU 0%');
  });
});
