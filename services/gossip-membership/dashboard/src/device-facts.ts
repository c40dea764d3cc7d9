// A node's device facts as tile lines: the board model, and the live tegrastats facts (GPU load,
// temperature, power mode, RAM). A fact the node does not report is left out, never shown as 0.
import { mib } from './format.js';
import type { NodeMeta } from './types.js';

type Hw = NonNullable<NodeMeta['hw']>;

/** "GPU 73% · 61.1 °C · MAXN", or undefined when none of the three is known. */
export function gpuText(hw: Hw | undefined): string | undefined {
  if (!hw) return undefined;
  const parts = [
    hw.gpuPct !== undefined ? `GPU ${hw.gpuPct}%` : undefined,
    hw.tempC !== undefined ? `${hw.tempC.toFixed(1)} °C` : undefined,
    hw.power,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** "RAM 5.7 GiB of 7.4 GiB", or undefined without both numbers. */
export function ramText(hw: Hw | undefined): string | undefined {
  if (hw?.ramMiB === undefined || hw.ramTotalMiB === undefined) return undefined;
  return `RAM ${mib(hw.ramMiB)} of ${mib(hw.ramTotalMiB)}`;
}
