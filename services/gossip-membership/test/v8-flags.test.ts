// The gossip program's V8 settings (src/v8-flags.ts) take effect at run time: a function that V8
// optimizes in a plain node process stays unoptimized once the module ran, and main.ts runs the module
// before Node loads the rest of the program.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const flagsModule = fileURLToPath(new URL('../dist/v8-flags.js', import.meta.url));
const mainSource = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** %GetOptimizationStatus bits (V8 src/runtime/runtime.h OptimizationStatus): kMaglevved, kTurboFanned. */
const MAGLEVVED = 1 << 5;
const TURBOFANNED = 1 << 6;

/**
 * Asks V8 to optimize a function in a fresh node (optionally after importing the flags module) and
 * returns its status bits. The request (%OptimizeFunctionOnNextCall, compiled synchronously on the next
 * call) rather than a hot loop: a loop's outcome depends on timing (on-stack replacement of the caller
 * can inline the function, which then never gets code of its own), the request's does not.
 */
function statusOfHotFunction(withFlags: boolean): number {
  const script = `
    ${withFlags ? `await import(${JSON.stringify(flagsModule)});` : ''}
    function hot(x) { let s = 0; for (let i = 0; i < 100; i++) s += x * i; return s; }
    %PrepareFunctionForOptimization(hot);
    hot(1);
    hot(2);
    %OptimizeFunctionOnNextCall(hot);
    hot(3);
    process.stdout.write(String(%GetOptimizationStatus(hot)));`;
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  return Number(out.trim());
}

describe('gossip V8 flags', () => {
  it('a function V8 is asked to optimize is optimized in a plain process (the contrast)', () => {
    expect(statusOfHotFunction(false) & (TURBOFANNED | MAGLEVVED)).not.toBe(0);
  });

  it('after src/v8-flags.ts ran, neither TurboFan nor Maglev optimizes it, even when asked', () => {
    expect(statusOfHotFunction(true) & (TURBOFANNED | MAGLEVVED)).toBe(0);
  });

  it('main.ts sets them before Node loads the program: the only static import, the program imported after', () => {
    const source = readFileSync(mainSource, 'utf8');
    expect([...source.matchAll(/^import [^\n]*$/gm)].map((m) => m[0])).toEqual(["import './v8-flags.js';"]);
    expect(source).toMatch(/^await import\('\.\/program\.js'\);$/m);
  });
});
