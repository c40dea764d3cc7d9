// Live device facts for node meta: one long-running `tegrastats --interval <ms>` process (NVIDIA's
// Jetson statistics tool, which prints one line per interval) whose latest line is parsed
// (meta/tegrastats-parse.ts), plus the power mode from `nvpmodel -q` (or a file) every minute.
// Sampled for the node, never per job.
//
// Failure is contained: without the binary the facts are absent (logged once at info); when it
// prints only garbage, stays silent (hung) or exits, the facts are dropped once the last good line is
// older than `staleAfterMs`, one warning is logged (again only after a good line came back), a hung
// process is killed and a new one started after `restartMs`. Nothing here throws into the caller.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { HwFacts } from '../meta/build-meta.js';
import { parseNvpmodelQuery, parseTegrastatsLine, type TegraSample } from '../meta/tegrastats-parse.js';

export interface TegrastatsSamplerOptions {
  /** tegrastats binary (EDGEFLEET_TEGRASTATS_PATH). */
  tegrastatsPath: string;
  /** tegrastats --interval, ms (EDGEFLEET_TEGRASTATS_INTERVAL_MS). */
  intervalMs: number;
  /** nvpmodel binary (EDGEFLEET_NVPMODEL_PATH); queried with -q. */
  nvpmodelPath?: string;
  /** A file holding the power mode (`nvpmodel -q` output or the bare name); wins over nvpmodelPath. */
  powerModeFile?: string;
  /** How often the power mode is read, ms. Default 60 s. */
  powerModeEveryMs?: number;
  /** A sample older than this is dropped, ms. Default 3 intervals + 2 s. */
  staleAfterMs?: number;
  /** Wait before starting tegrastats again after it exited or was killed, ms. Default 30 s. */
  restartMs?: number;
  logger: Logger;
  now?: () => number;
}

/** Longest partial line kept while waiting for its newline; tegrastats lines are < 1 KiB. */
const MAX_LINE_BYTES = 8192;
const NVPMODEL_TIMEOUT_MS = 2_000;

export class TegrastatsSampler {
  readonly #o: TegrastatsSamplerOptions;
  readonly #now: () => number;
  readonly #staleAfterMs: number;
  #child: ChildProcess | undefined;
  #buffer = '';
  #sample: (TegraSample & { at: number }) | undefined;
  #power: string | undefined;
  #startedAt = 0;
  #badLines = 0;
  #warned = false;
  #absent = false;
  #running = false;
  #watchdog: NodeJS.Timeout | undefined;
  #restart: NodeJS.Timeout | undefined;
  #powerTimer: NodeJS.Timeout | undefined;

  constructor(o: TegrastatsSamplerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#staleAfterMs = o.staleAfterMs ?? 3 * o.intervalMs + 2_000;
  }

  /** The facts to carry in meta now; undefined when there are none (never zeros). */
  current(): HwFacts | undefined {
    const out: HwFacts = {};
    const s = this.#sample;
    if (s && this.#now() - s.at <= this.#staleAfterMs) {
      if (s.gpuPct !== undefined) out.gpuPct = s.gpuPct;
      if (s.tempC !== undefined) out.tempC = s.tempC;
      if (s.ramMiB !== undefined) out.ramMiB = s.ramMiB;
      if (s.ramTotalMiB !== undefined) out.ramTotalMiB = s.ramTotalMiB;
    }
    if (this.#power !== undefined) out.power = this.#power;
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /** True once the tegrastats binary turned out not to exist (no restarts then). */
  get absent(): boolean {
    return this.#absent;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#spawn();
    this.#watchdog = setInterval(() => this.#check(), Math.min(this.#o.intervalMs, 5_000));
    this.#watchdog.unref();
    if (this.#o.powerModeFile !== undefined || this.#o.nvpmodelPath !== undefined) {
      void this.#readPower();
      this.#powerTimer = setInterval(() => void this.#readPower(), this.#o.powerModeEveryMs ?? 60_000);
      this.#powerTimer.unref();
    }
  }

  stop(): void {
    this.#running = false;
    clearInterval(this.#watchdog);
    clearInterval(this.#powerTimer);
    clearTimeout(this.#restart);
    this.#child?.kill('SIGKILL');
    this.#child = undefined;
  }

  #spawn(): void {
    if (!this.#running) return;
    this.#buffer = '';
    this.#badLines = 0;
    this.#startedAt = this.#now();
    let child: ChildProcess;
    try {
      child = spawn(this.#o.tegrastatsPath, ['--interval', String(this.#o.intervalMs)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (err) {
      this.#failed(`cannot start: ${(err as Error).message}`);
      return;
    }
    this.#child = child;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#onData(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        this.#absent = true;
        this.#child = undefined;
        this.#o.logger.info(
          { tegrastats: this.#o.tegrastatsPath },
          'tegrastats not found: live device facts (GPU load, temperature, RAM) left out of node meta',
        );
        return;
      }
      this.#failed(`cannot start: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      if (!this.#running || this.#absent) return;
      this.#failed(`exited (${signal ?? code})`);
      this.#scheduleRestart();
    });
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    const lines = this.#buffer.split('\n');
    this.#buffer = lines.pop() ?? '';
    if (this.#buffer.length > MAX_LINE_BYTES) {
      this.#buffer = '';
      this.#badLines++;
    }
    for (const line of lines) {
      const sample = parseTegrastatsLine(line);
      if (!sample) {
        if (line.trim() !== '') this.#badLines++;
        continue;
      }
      this.#sample = { ...sample, at: this.#now() };
      if (this.#warned) this.#o.logger.info('tegrastats output usable again');
      this.#warned = false;
    }
  }

  /** Watchdog: no good line for staleAfterMs from a running process → warn, kill, restart later. */
  #check(): void {
    const child = this.#child;
    if (!child) return;
    const lastGood = Math.max(this.#sample?.at ?? 0, this.#startedAt);
    if (this.#now() - lastGood <= this.#staleAfterMs) return;
    this.#failed(
      this.#badLines > 0
        ? `${this.#badLines} line(s) that are not tegrastats output and no valid one`
        : `no output for ${this.#staleAfterMs} ms`,
    );
    // Its exit handler schedules the restart.
    child.kill('SIGKILL');
  }

  #failed(reason: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#o.logger.warn(
      { tegrastats: this.#o.tegrastatsPath, reason },
      'tegrastats gives no usable output: live device facts left out of node meta',
    );
  }

  #scheduleRestart(): void {
    clearTimeout(this.#restart);
    this.#restart = setTimeout(() => this.#spawn(), this.#o.restartMs ?? 30_000);
    this.#restart.unref();
  }

  async #readPower(): Promise<void> {
    const file = this.#o.powerModeFile;
    const bin = this.#o.nvpmodelPath;
    let text: string | undefined;
    try {
      if (file !== undefined) text = await readFile(file, 'utf8');
      else if (bin !== undefined)
        text = await new Promise<string>((resolve, reject) =>
          execFile(bin, ['-q'], { timeout: NVPMODEL_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout) =>
            err ? reject(err) : resolve(stdout),
          ),
        );
    } catch {
      text = undefined;
    }
    this.#power = text === undefined ? undefined : parseNvpmodelQuery(text);
  }
}
