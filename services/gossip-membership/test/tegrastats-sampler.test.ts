// The tegrastats sampler against fake `tegrastats` programs (shell scripts made here) that print
// recorded lines, garbage, or nothing (hung), and a missing binary: the facts follow the good lines,
// are dropped when the output goes bad, the warning is logged once, and nothing throws.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, logSink } from '@edgefleet/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseTegrastatsLine } from '../src/meta/tegrastats-parse.js';
import { TegrastatsSampler, type TegrastatsSamplerOptions } from '../src/runtime/tegrastats-sampler.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-tegra-'));
const FIXTURE = fileURLToPath(new URL('fixtures/tegrastats/l4t36-orin-nano.txt', import.meta.url));

/** Writes an executable script; every start appends a line to <name>.starts (and its args). */
function fake(name: string, body: string): { path: string; starts: () => string[] } {
  const path = join(dir, name);
  const log = `${path}.starts`;
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${log}\n${body}\n`);
  chmodSync(path, 0o755);
  return {
    path,
    starts: () => {
      try {
        return readFileSync(log, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

const samplers: TegrastatsSampler[] = [];
function sampler(o: Partial<TegrastatsSamplerOptions> & { tegrastatsPath: string }) {
  const sink = logSink();
  const s = new TegrastatsSampler({
    intervalMs: 100,
    staleAfterMs: 600,
    restartMs: 200,
    logger: sink.logger,
    ...o,
  });
  samplers.push(s);
  s.start();
  const warnings = () => sink.lines.filter((l) => l.level === 'warn');
  return { s, sink, warnings };
}

afterEach(() => {
  for (const s of samplers.splice(0)) s.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TegrastatsSampler', () => {
  it('carries the latest recorded line and the nvpmodel power mode; passes --interval', async () => {
    const t = fake(
      'tegrastats-ok',
      `while true; do while IFS= read -r l; do echo "$l"; sleep 0.1; done < ${FIXTURE}; done`,
    );
    const nv = fake('nvpmodel', `[ "$1" = "-q" ] && printf 'NV Power Mode: 15W\\n1\\n'`);
    const { s, warnings } = sampler({ tegrastatsPath: t.path, nvpmodelPath: nv.path, intervalMs: 100 });
    const expected = readFileSync(FIXTURE, 'utf8')
      .trim()
      .split('\n')
      .map((l) => ({ ...parseTegrastatsLine(l), power: '15W' }));
    const got = await eventually(
      () => s.current()?.ramMiB !== undefined && s.current()?.power && s.current(),
      {
        what: 'a sample',
      },
    );
    expect(expected).toContainEqual(got);
    // Both recorded lines come through as the process keeps printing.
    await eventually(() => s.current()?.gpuPct === 73, { what: 'the second line' });
    await eventually(() => s.current()?.gpuPct === 0, { what: 'the first line again' });
    expect(t.starts()).toEqual(['--interval 100']);
    expect(nv.starts()[0]).toBe('-q');
    expect(warnings()).toEqual([]);
  });

  it('garbage only: no facts, one warning across restarts, the process is restarted', async () => {
    const t = fake(
      'tegrastats-garbage',
      'while true; do echo "\\033[1mNVRM: something went wrong $$"; sleep 0.05; done',
    );
    const { s, warnings } = sampler({ tegrastatsPath: t.path });
    await eventually(() => t.starts().length >= 3, { timeoutMs: 15_000, what: 'two restarts' });
    expect(s.current()).toBeUndefined();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      msg: 'tegrastats gives no usable output: live device facts left out of node meta',
      reason: expect.stringMatching(/not tegrastats output/),
    });
  });

  it('hung (prints nothing): killed and restarted, one warning, no facts', async () => {
    const t = fake('tegrastats-hang', 'exec sleep 600');
    const { s, warnings } = sampler({ tegrastatsPath: t.path });
    await eventually(() => t.starts().length >= 3, { timeoutMs: 15_000, what: 'two restarts' });
    expect(s.current()).toBeUndefined();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.reason).toMatch(/no output for 600 ms/);
  });

  it('good lines then garbage: the facts are dropped once the last good line is stale', async () => {
    const t = fake(
      'tegrastats-turns-bad',
      `head -n 1 ${FIXTURE}; while true; do echo 'RAM ??/??MB'; sleep 0.05; done`,
    );
    const { s, warnings } = sampler({ tegrastatsPath: t.path });
    await eventually(() => s.current()?.ramMiB === 2530, { what: 'the good line' });
    await eventually(() => s.current() === undefined, { what: 'the facts dropped' });
    await eventually(() => warnings().length === 1, { what: 'one warning' });
  });

  it('a tegrastats that exits at once: one warning, restarts, the caller never sees an error', async () => {
    const t = fake('tegrastats-exits', 'exit 3');
    const { s, warnings } = sampler({ tegrastatsPath: t.path });
    await eventually(() => t.starts().length >= 3, { timeoutMs: 15_000, what: 'two restarts' });
    expect(s.current()).toBeUndefined();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.reason).toBe('exited (3)');
  });

  it('without tegrastats (or nvpmodel) the facts are absent, logged once at info, nothing restarted', async () => {
    const { s, sink, warnings } = sampler({
      tegrastatsPath: join(dir, 'no-such-tegrastats'),
      nvpmodelPath: join(dir, 'no-such-nvpmodel'),
    });
    await eventually(() => s.absent, { what: 'the binary found missing' });
    expect(s.current()).toBeUndefined();
    expect(warnings()).toEqual([]);
    expect(sink.lines.filter((l) => /tegrastats not found/.test(String(l.msg)))).toHaveLength(1);
  });

  it('reads the power mode from a file when one is set', async () => {
    const file = join(dir, 'power-mode');
    writeFileSync(file, 'NV Power Mode: MAXN\n0\n');
    const { s } = sampler({ tegrastatsPath: join(dir, 'no-such-tegrastats'), powerModeFile: file });
    expect(await eventually(() => s.current())).toEqual({ power: 'MAXN' });
  });
});
