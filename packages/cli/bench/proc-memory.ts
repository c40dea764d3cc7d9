// Memory of one process as Linux reports it, in KiB: /proc/<pid>/status (VmRSS resident now, VmHWM the
// peak resident since start, RssAnon private heap/stack pages, RssFile mapped files such as the node
// binary) and /proc/<pid>/smaps_rollup (Pss: each shared page divided by the number of processes that
// map it, so PSS of several processes adds up where RSS double-counts the shared node binary).
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
  fileKiB: number;
}

/** The `Name:  1234 kB` fields of a /proc status or smaps_rollup text, in KiB. */
export function parseKiBFields(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line.trim());
    if (m?.[1] && m[2]) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** undefined when the process is gone. */
export function procMemory(pid: number): ProcMemory | undefined {
  try {
    const f = parseKiBFields(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return {
      rssKiB: f.get('VmRSS') ?? Number.NaN,
      hwmKiB: f.get('VmHWM') ?? Number.NaN,
      anonKiB: f.get('RssAnon') ?? Number.NaN,
      fileKiB: f.get('RssFile') ?? Number.NaN,
    };
  } catch {
    return undefined;
  }
}

/** Proportional set size in KiB; undefined when smaps_rollup is not readable (older kernel, other user). */
export function procPss(pid: number): number | undefined {
  try {
    return parseKiBFields(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')).get('Pss');
  } catch {
    return undefined;
  }
}

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
