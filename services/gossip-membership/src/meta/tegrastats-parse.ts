// Parses one line of `tegrastats` output (NVIDIA's Jetson statistics tool) into the live device facts
// carried in node meta, and `nvpmodel -q` output into the power mode name. Pure; the formats differ by
// JetPack release (recorded lines in test/fixtures/tegrastats/):
//   L4T 28 (TX1):      RAM 3468/3983MB (lfb 48x4MB) … cpu [17%,13%]@408 EMC 1%@408 APE 25 GR3D 3%@76
//   L4T 32 (Nano, TX2, Xavier): RAM …MB … GR3D_FREQ 0%@76 (or GR3D_FREQ 0%) … CPU@25.5C GPU@24C …
//   L4T 35 (Orin, JetPack 5): date prefix, GR3D_FREQ 0%@[305,305], GPU@-256C when the sensor is off, tj@45.8C
//   L4T 36 (JetPack 6): date prefix, GR3D_FREQ 0%, lower-case sensors cpu@47.1C gpu@46.8C tj@47.1C
// A line without `RAM <used>/<total>MB` is not tegrastats output (undefined); any other field that
// is missing or out of range is left out, never reported as 0.

export interface TegraSample {
  /** GR3D (GPU) load in percent of its current frequency, 0..100. */
  gpuPct?: number;
  /** °C, one decimal: the GPU sensor, else the junction (tj), else the board-level `thermal` zone. */
  tempC?: number;
  ramMiB?: number;
  ramTotalMiB?: number;
}

/** Sensor names tried in order for tempC (tegrastats prints them as NAME@<°C>C). */
const TEMP_SENSORS = ['gpu', 'tj', 'thermal'];
/** Readings outside this range are sensors that are off or absent (tegrastats prints -256C for those). */
const TEMP_MIN_C = -40;
const TEMP_MAX_C = 150;

export function parseTegrastatsLine(line: string): TegraSample | undefined {
  const ram = /\bRAM (\d+)\/(\d+)MB\b/.exec(line);
  if (!ram) return undefined;
  const used = Number(ram[1]);
  const total = Number(ram[2]);
  if (!Number.isSafeInteger(used) || !Number.isSafeInteger(total) || total <= 0 || used > total)
    return undefined;
  const out: TegraSample = { ramMiB: used, ramTotalMiB: total };

  // GR3D_FREQ 37%@… / GR3D_FREQ 37% / GR3D 37%@76 (L4T 28).
  const gr3d = /\bGR3D(?:_FREQ)? (\d{1,3})%/.exec(line);
  if (gr3d) {
    const pct = Number(gr3d[1]);
    if (pct <= 100) out.gpuPct = pct;
  }

  const temps = new Map<string, number>();
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z][\w]*)@(-?\d+(?:\.\d+)?)C(?=\s|$)/g)) {
    const c = Number(m[2]);
    const name = (m[1] as string).toLowerCase();
    if (c >= TEMP_MIN_C && c <= TEMP_MAX_C && !temps.has(name)) temps.set(name, c);
  }
  for (const name of TEMP_SENSORS) {
    const c = temps.get(name);
    if (c !== undefined) {
      out.tempC = Math.round(c * 10) / 10;
      break;
    }
  }
  return out;
}

/**
 * `nvpmodel -q` prints `NV Power Mode: MAXN` then the mode id (older releases may print a warning
 * line first). A power-mode file may hold the same text or just the name. Undefined when absent.
 */
export function parseNvpmodelQuery(text: string): string | undefined {
  const named = /NV Power Mode:\s*([\w.+-]{1,24})/.exec(text)?.[1];
  if (named) return named;
  const bare = text.trim();
  return /^[\w.+-]{1,24}$/.test(bare) ? bare : undefined;
}
