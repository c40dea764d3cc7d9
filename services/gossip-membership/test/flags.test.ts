// Go-style flag parsing: every accepted spelling and every malformed form, with the exact error line.
import { describe, expect, it } from 'vitest';
import { type FlagSpec, parseFlags, usage } from '../src/flags.js';

const specs: FlagSpec[] = [
  { name: 'members', help: 'seeds' },
  { name: 'port', help: 'http port', default: '4001', env: 'EDGEFLEET_PORT' },
  { name: 'verbose', bool: true, help: 'more logs' },
];
const ok = (argv: string[]) => {
  const r = parseFlags(argv, specs);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return Object.fromEntries(r.values);
};
const err = (argv: string[]) => {
  const r = parseFlags(argv, specs);
  if (r.kind !== 'error') throw new Error(`expected error, got ${JSON.stringify(r)}`);
  return r.message;
};

describe('parseFlags', () => {
  it.each([
    [['-members=a:1,b:2'], { members: 'a:1,b:2' }],
    [['--members=a:1,b:2'], { members: 'a:1,b:2' }],
    [['-port', '4002'], { port: '4002' }],
    [['--port', '4002'], { port: '4002' }],
    [['-port=4002', '-members', 'x:1'], { port: '4002', members: 'x:1' }],
    [['-port=1', '-port=2'], { port: '2' }],
    [['-members='], { members: '' }],
    [['-members=a=b'], { members: 'a=b' }],
    [['-port', '-5'], { port: '-5' }],
    [['-verbose'], { verbose: 'true' }],
    [['--verbose=false'], { verbose: 'false' }],
    [['-verbose=T'], { verbose: 'true' }],
    [['-verbose=0'], { verbose: 'false' }],
    [['-verbose', '--port=1'], { verbose: 'true', port: '1' }],
    [['--'], {}],
    [['-port=1', '--'], { port: '1' }],
    [[], {}],
  ])('accepts %j', (argv, expected) => {
    expect(ok(argv)).toEqual(expected);
  });

  it.each([
    [['-nope'], 'flag provided but not defined: -nope'],
    [['--nope=1'], 'flag provided but not defined: -nope'],
    [['-Port=1'], 'flag provided but not defined: -Port'],
    [['-port'], 'flag needs an argument: -port'],
    [['-members=a', '--port'], 'flag needs an argument: -port'],
    [['---port=1'], 'bad flag syntax: ---port=1'],
    [['-=1'], 'bad flag syntax: -=1'],
    [['--=1'], 'bad flag syntax: --=1'],
    [['-verbose=maybe'], 'invalid boolean value "maybe" for -verbose'],
    [['-verbose='], 'invalid boolean value "" for -verbose'],
    [['4001'], 'unexpected argument: 4001'],
    [['-'], 'unexpected argument: -'],
    [['-port=1', 'extra'], 'unexpected argument: extra'],
    [['--', 'extra'], 'unexpected argument: extra'],
  ])('rejects %j with one line', (argv, message) => {
    expect(err(argv)).toBe(message);
  });

  it.each([['-h'], ['--help'], ['-help'], ['-port=1', '-h']])('%j asks for help', (...argv) => {
    expect(parseFlags(argv, specs).kind).toBe('help');
  });

  it('usage lists every flag with default and variable', () => {
    const text = usage('prog', specs);
    expect(text).toContain('Usage: prog [flags]');
    expect(text).toContain('-port value');
    expect(text).toContain('(default 4001, env EDGEFLEET_PORT)');
    expect(text).toMatch(/-verbose\n/);
  });
});
