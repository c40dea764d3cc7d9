// When to re-broadcast our node meta. Every re-broadcast is an alive message with a higher
// incarnation that every node in the fleet processes and re-gossips, so it is sent only when the
// meta changed in a way a reader would act on, and at most once per `minIntervalMs`; a change that
// arrives inside the interval is published when the interval ends (never lost). Pure: the caller
// passes the clock.
import type { NodeMeta } from '@edgefleet/contracts';

/** Free disk counts as changed when it moved by at least this fraction of the last value … */
const DISK_CHANGE_FRACTION = 0.1;
/** … or by at least this many MiB (1 GiB), whichever is smaller. */
const DISK_CHANGE_MIB = 1024;

/** GPU load counts as changed when it moved by at least this many percentage points … */
const GPU_CHANGE_PCT = 10;
/** … temperature by at least this many °C … */
const TEMP_CHANGE_C = 5;
/** … RAM in use by at least this fraction of the total. */
const RAM_CHANGE_FRACTION = 0.05;

/** True when live device facts (tegrastats, sampled every few seconds) moved enough to re-broadcast. */
function isMeaningfulHwChange(a: NodeMeta['hw'], b: NodeMeta['hw']): boolean {
  if (!a || !b) return a !== b;
  if (a.power !== b.power || a.ramTotalMiB !== b.ramTotalMiB) return true;
  const moved = (x: number | undefined, y: number | undefined, by: number) =>
    x === undefined || y === undefined ? x !== y : Math.abs(x - y) >= by;
  return (
    moved(a.gpuPct, b.gpuPct, GPU_CHANGE_PCT) ||
    moved(a.tempC, b.tempC, TEMP_CHANGE_C) ||
    moved(a.ramMiB, b.ramMiB, Math.max(1, (b.ramTotalMiB ?? 0) * RAM_CHANGE_FRACTION))
  );
}

/** True when `next` differs from `prev` in something other than noise (timestamps, small disk drift). */
export function isMeaningfulChange(prev: NodeMeta, next: NodeMeta): boolean {
  if (prev.role !== next.role || prev.api !== next.api || prev.ver !== next.ver) return true;
  if (JSON.stringify(prev.labels) !== JSON.stringify(next.labels)) return true;
  if (isMeaningfulHwChange(prev.hw, next.hw)) return true;
  const a = prev.load;
  const b = next.load;
  if (!a || !b) return a !== b;
  if (a.running !== b.running || a.queued !== b.queued) return true;
  const threshold = Math.min(DISK_CHANGE_MIB, a.freeDiskMiB * DISK_CHANGE_FRACTION);
  return Math.abs(a.freeDiskMiB - b.freeDiskMiB) >= Math.max(1, threshold);
}

export type PublishDecision = { kind: 'publish' } | { kind: 'wait'; untilMs: number } | { kind: 'unchanged' };

/**
 * Decision for a candidate meta `next` at time `nowMs` (ms), given what was last published and when.
 */
export function decidePublish(
  published: NodeMeta,
  publishedAtMs: number,
  next: NodeMeta,
  nowMs: number,
  minIntervalMs: number,
): PublishDecision {
  if (!isMeaningfulChange(published, next)) return { kind: 'unchanged' };
  const due = publishedAtMs + minIntervalMs;
  return nowMs >= due ? { kind: 'publish' } : { kind: 'wait', untilMs: due };
}
