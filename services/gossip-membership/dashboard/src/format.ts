// Human-readable durations and sizes.

/** 850 ms → "0.9 s", 75 000 ms → "1 min 15 s", 2 h → "2 h 0 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** Time since `at` (ms since the epoch), e.g. "12 s ago". */
export function ago(at: number, now: number): string {
  const d = now - at;
  if (!Number.isFinite(d)) return '–';
  if (d < 1500) return 'just now';
  return `${duration(d).replace(/\.\d s$/, ' s')} ago`;
}

/** MiB → "51.2 GiB" / "800 MiB". */
export function mib(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} GiB` : `${n} MiB`;
}
