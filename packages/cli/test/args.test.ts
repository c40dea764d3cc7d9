import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';

const spec = { entry: { value: true }, wait: { value: false }, follow: { value: false, alias: 'f' } };

describe('parseArgs', () => {
  it('reads positionals, values in both forms, switches and aliases', () => {
    expect(parseArgs(['dir', '--entry', 'a.py', '--wait', '-f'], spec)).toEqual({
      ok: true,
      positionals: ['dir'],
      options: { entry: 'a.py', wait: true, follow: true },
    });
    expect(parseArgs(['--entry=b.py', 'dir'], spec)).toEqual({
      ok: true,
      positionals: ['dir'],
      options: { entry: 'b.py' },
    });
    expect(parseArgs(['--', '--entry'], spec)).toEqual({ ok: true, positionals: ['--entry'], options: {} });
  });
  it.each([
    [['--nope'], 'unknown option --nope'],
    [['--entry'], 'option --entry needs a value'],
    [['--entry='], 'option --entry needs a value'],
    [['--wait=yes'], 'option --wait takes no value'],
    [['-x'], 'unknown option -x'],
  ])('%j → %s', (argv, error) => {
    expect(parseArgs(argv, spec)).toEqual({ ok: false, error });
  });
});
