// Runs a built service (`node dist/main.js`) as a real child process, as an operator would, and
// collects its output so tests can wait for lines and assert on exit codes.
import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './eventually.js';

export interface ServiceProcess {
  proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Waits until the output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** GET a URL until it answers 2xx. */
  waitForHttp(url: string, timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

export function startServiceProcess(
  entry: string,
  opts: { env?: Record<string, string>; args?: string[]; cwd?: string } = {},
): ServiceProcess {
  const proc = spawn(process.execPath, [entry, ...(opts.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  const sp: ServiceProcess = {
    proc,
    output: () => out,
    exited,
    waitForOutput: (pattern, timeoutMs = 10_000) =>
      eventually(
        () => {
          if (proc.exitCode !== null)
            throw new Error(`process exited (${proc.exitCode}): ${out.slice(-2000)}`);
          return out.match(pattern);
        },
        { timeoutMs, what: `output ${pattern}` },
      ),
    waitForHttp: async (url, timeoutMs = 15_000) => {
      await eventually(
        async () => {
          if (proc.exitCode !== null)
            throw new Error(`process exited (${proc.exitCode}): ${out.slice(-2000)}`);
          const r = await fetch(url);
          return r.ok;
        },
        { timeoutMs, what: `GET ${url}` },
      );
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return sp;
}
