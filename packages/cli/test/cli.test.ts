// The CLI as an operator runs it: bad input gives one clear line and a nonzero exit code, no stack.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderMessage } from '../src/commands/submit.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let deadPort: number;
let apiUrl: string;
const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/v1/members') {
    res.end(
      JSON.stringify({
        self: 'jet-1',
        health: 0,
        members: [
          {
            name: 'jet-1',
            ip: '10.0.0.1',
            port: 8000,
            state: 'alive',
            meta: null,
            lastChange: '2026-12-01T10:00:00.000Z',
            self: true,
          },
          {
            name: 'jet-7',
            ip: '10.0.0.7',
            port: 8000,
            state: 'dead',
            meta: null,
            lastChange: '2026-12-01T03:00:00.000Z',
            self: false,
            gone: true,
            declaredBy: 'jet-2',
          },
        ],
      }),
    );
    return;
  }
  if (req.url?.startsWith('/v1/jobs/missing')) {
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: 'JOB_NOT_FOUND', message: 'no job missing' } }));
    return;
  }
  res.statusCode = 404;
  res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route' } }));
});

beforeAll(async () => {
  deadPort = await freePort();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  apiUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Runs the CLI without blocking this process (the fake API above must keep answering). */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { PATH: process.env.PATH ?? '', EDGEFLEET_LOCAL_ENDPOINT: `http://127.0.0.1:${deadPort}`, ...env },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('edgefleet CLI', () => {
  it('members hides departed nodes; --all lists them with when and by whom they were declared', async () => {
    const plain = await cli(['members', '--members-api', apiUrl]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/jet-1\s+alive/);
    expect(plain.stdout).not.toMatch(/jet-7/);
    const all = await cli(['members', '--all', '--members-api', apiUrl]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/DECLAREDBY/);
    // Load, device and live facts: "-" (a departed node reports none).
    expect(all.stdout).toMatch(
      /jet-7\s+dead\s+-\s+10\.0\.0\.7:8000\s+-\s+-\s+-\s+2026-12-01T03:00:00\.000Z\s+jet-2/,
    );
  });

  it('prints help for every command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of [
      'local',
      'submit',
      'upload',
      'jobs',
      'job',
      'logs',
      'cancel',
      'members',
      'doctor',
      'results',
      'dead',
    ]) {
      expect(top.stdout).toContain(c);
      const r = await cli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toMatch(/^usage: edgefleet /);
    }
  });

  it.each([
    ['an unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    ['no command', [], 2, /usage: edgefleet/],
    ['an unknown option', ['jobs', '--bogus'], 2, /unknown option --bogus/],
    ['a missing folder', ['submit', '/nonexistent/folder'], 2, /no such folder or file/],
    ['submit without a target', ['submit'], 2, /missing the folder/],
    ['a bad --timeout', ['submit', '.', '--timeout', 'soon'], 2, /--timeout takes a whole number/],
  ])('%s → one line, exit %s', async (_n, args, code, pattern) => {
    const r = await cli(args);
    expect(r.code).toBe(code);
    expect(r.stderr + r.stdout).toMatch(pattern);
    noStack(r.stderr);
  });

  it('a folder without the entry script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(dir, 'other.py'), 'print(1)\n');
    const r = await cli(['submit', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/entry script main\.py not found/);
    noStack(r.stderr);
  });

  it('a job.json that is not a valid message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ version: 1, kind: 'job', jobId: '../x' }));
    const r = await cli(['submit', join(dir, 'job.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid job message: jobId/);
  });

  it('an unreachable node', async () => {
    for (const args of [['jobs'], ['job', 'x'], ['members'], ['cancel', 'x']]) {
      const r = await cli([
        ...args,
        '--api',
        `http://127.0.0.1:${deadPort}`,
        '--members-api',
        `http://127.0.0.1:${deadPort}`,
      ]);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ .*is the node running\?/);
      noStack(r.stderr);
    }
    const sub = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(sub, 'main.py'), 'print(1)\n');
    const r = await cli(['submit', sub]);
    expect(r.code).toBe(4);
    noStack(r.stderr);
  });

  it('a job id that does not exist', async () => {
    const r = await cli(['job', 'missing', '--api', apiUrl]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe('edgefleet job: JOB_NOT_FOUND: no job missing');
  });
});

describe('folderMessage', () => {
  it('lays files out flat with sub-folders kept, and validates', () => {
    const m = folderMessage(
      'f',
      ['data/a.csv', 'main.py', 'requirements.txt'],
      { target: 'f' },
      'jobs',
      's3://res/',
      'j1',
    );
    expect(m.inputs).toEqual([
      { uri: 's3://jobs/j1/data/a.csv', path: 'data/a.csv' },
      { uri: 's3://jobs/j1/main.py' },
      { uri: 's3://jobs/j1/requirements.txt' },
    ]);
    expect(m.code).toEqual({ entrypoint: 'main.py', requirements: 'requirements.txt' });
  });
  it('refuses a missing requirements file and a missing entry', () => {
    expect(() =>
      folderMessage('f', ['main.py'], { target: 'f', requirements: 'r.txt' }, 'b', 's3://r/', 'j'),
    ).toThrow(/requirements file r.txt not found/);
    expect(() => folderMessage('f', ['x.py'], { target: 'f', entry: 'run.py' }, 'b', 's3://r/', 'j')).toThrow(
      /entry script run.py not found/,
    );
  });
});
