// A job-user process races the uploader: it swaps a folder of output/ for a symlink to a root-only
// folder holding a file of the same name, over and over, while root lists and opens the file 1,000
// times. Root must never read the other file: each open gives the listed file or is refused.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openListedFile, UnsafeListedFile } from '../src/adapters/open-listed.js';

const USER = 'ef-upload-race';
let root: string;
let uid = 0;
let gid = 0;
beforeAll(() => {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
      stdio: 'ignore',
    });
  }
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }));
  root = mkdtempSync(join(tmpdir(), 'edgefleet-race-'));
  chmodSync(root, 0o755);
  // The secret: root-only, same relative name as the job's file.
  mkdirSync(join(root, 'secret'), { mode: 0o700 });
  writeFileSync(join(root, 'secret', 'result.txt'), 'SECRET');
  // output/ belongs to the job user, as the executor makes it.
  mkdirSync(join(root, 'output', 'a'), { recursive: true });
  writeFileSync(join(root, 'output', 'a', 'result.txt'), 'job output');
  execFileSync('chown', ['-R', `${uid}:${gid}`, join(root, 'output')]);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('a symlink swap racing the upload of output/', () => {
  it('1,000 rounds: root never opens a file outside output/', async () => {
    const out = join(root, 'output');
    // The job user's swapper: a -> real folder, a -> link to the secret folder, as fast as it can.
    const swapper = spawn(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '/usr/bin/python3',
        '-c',
        [
          'import os',
          `os.chdir(${JSON.stringify(out)})`,
          'os.symlink(' + JSON.stringify(join(root, 'secret')) + ', "link")',
          'while True:',
          '    os.rename("a", "real")',
          '    os.rename("link", "a")',
          '    os.rename("a", "link")',
          '    os.rename("real", "a")',
        ].join('\n'),
      ],
      { stdio: 'ignore' },
    );
    // The swapper is running once its link exists (python takes a while to start).
    await eventually(
      async () =>
        (await lstat(join(out, 'link')).catch(() => null)) ??
        (await lstat(join(out, 'real')).catch(() => null)),
      { timeoutMs: 20_000, what: 'the swapper running' },
    );
    let listedOk = 0;
    let refused = 0;
    let leaked = 0;
    try {
      for (let i = 0; i < 1000; i++) {
        const abs = join(out, 'a', 'result.txt');
        const st = await lstat(abs).catch(() => null); // the listing (may see either side)
        if (!st?.isFile()) continue;
        try {
          const fh = await openListedFile(abs, { ino: st.ino, dev: st.dev });
          const text = await fh.readFile('utf8');
          await fh.close();
          if (text === 'SECRET') leaked++;
          else listedOk++;
        } catch (e) {
          if (
            e instanceof UnsafeListedFile ||
            (e as NodeJS.ErrnoException).code === 'ELOOP' ||
            (e as NodeJS.ErrnoException).code === 'ENOENT'
          )
            refused++;
          else throw e;
        }
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(leaked).toBe(0);
    // The race really ran both ways: some opens were refused, some read the job's file.
    expect(listedOk).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);
});
