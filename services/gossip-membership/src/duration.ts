// Durations in settings, written the way Go's time.ParseDuration reads them (what Serf and Consul
// operators type: "24h", "90s", "1h30m", "250ms"), or a plain "0". Pure.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when `text` is not a non-negative duration. */
export function parseDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined;
  let ms = 0;
  for (const [, num, unit] of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(num) * (UNIT_MS[unit as string] as number);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
