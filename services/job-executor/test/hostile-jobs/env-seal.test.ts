// Hostile job: a process of the job user, left over from the install phase, swaps files and folders of
// the environment being built for symlinks to root-owned files while the executor (root) seals and
// relocates it. Root must never write or chmod anything outside the environment: a root-owned canary
// (its content names the build folder, so a relocation that followed a link would rewrite it) keeps its
// content and mode through 1,000 rounds; removing a failed build's tree never deletes a root-only file
// a swapped-in link points at (1,000 rounds). And an environment shared with later jobs is root-owned and not
// writable by the job user; one that is not sealed any more is rebuilt, not reused.
// Real /usr/bin/python3 venv and pip, a dedicated unprivileged user, real symlink races.
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import {
  chmod,
  chown,
  lchown,
  lstat,
  mkdir,
  readdir,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWheel, eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentManager, type EnvironmentRequest } from '../../src/env/index.js';
import { rewriteVenvPaths } from '../../src/env/relocate.js';
import { removeTree, sealEnvironment, UnsafeEnvironment } from '../../src/env/seal.js';

const USER = 'ef-seal-race';
const IS_ROOT = process.getuid?.() === 0;
let root: string;
let uid = 0;
let gid = 0;

beforeAll(() => {
  if (!IS_ROOT) return;
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
      stdio: 'ignore',
    });
  }
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }));
  root = mkdtempSync(join(tmpdir(), 'edgefleet-seal-'));
  chmodSync(root, 0o755);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Everything under `dir` (links not followed), with owner and mode. */
async function walk(dir: string): Promise<{ path: string; uid: number; mode: number; link: boolean }[]> {
  const out = [];
  const st = await lstat(dir);
  out.push({ path: dir, uid: st.uid, mode: st.mode & 0o7777, link: st.isSymbolicLink() });
  if (st.isDirectory()) for (const e of await readdir(dir)) out.push(...(await walk(join(dir, e))));
  return out;
}

describe.skipIf(!IS_ROOT)(
  'symlink swaps racing the sealing and relocation of an environment (needs root)',
  () => {
    it('1,000 rounds: root never writes or chmods a file outside the environment', async () => {
      // The build folder's parent belongs to root and is not writable by the job user (as <cache>/.building).
      const building = join(root, '.building');
      await mkdir(building, { mode: 0o711 });
      const B = join(building, 'env');
      const finalDir = join(root, 'final-env');
      // The canaries: root-only, same names as the environment's, content naming the build folder.
      const canaryDir = join(root, 'canary');
      mkdirSync(canaryDir, { mode: 0o700 });
      const canaryText = `#!${B}/bin/python\nCANARY\n`;
      for (const n of ['script', 'pyvenv.cfg'])
        writeFileSync(join(canaryDir, n), canaryText, { mode: 0o600 });
      const canaryState = () =>
        ['', 'script', 'pyvenv.cfg'].map((n) => {
          const p = join(canaryDir, n);
          const st = statSync(p);
          return [st.uid, st.mode & 0o7777, n === '' ? '' : readFileSync(p, 'utf8')];
        });
      const before = JSON.stringify(canaryState());

      // The job user's swapper: in the build folder, `bin` <-> a link to the canary folder and
      // `pyvenv.cfg` <-> a link to the canary file; in bin/, `script` <-> a link to the canary file.
      // Every rename that fails (folder sealed or gone) is ignored and retried.
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
            `B = ${JSON.stringify(B)}`,
            'def swap(d, name):',
            '    try:',
            '        os.rename(f"{d}/{name}", f"{d}/{name}.real")',
            '        os.rename(f"{d}/{name}.link", f"{d}/{name}")',
            '        os.rename(f"{d}/{name}", f"{d}/{name}.link")',
            '        os.rename(f"{d}/{name}.real", f"{d}/{name}")',
            '    except OSError:',
            '        pass',
            'while True:',
            '    swap(B, "bin")',
            '    swap(B, "pyvenv.cfg")',
            '    swap(B + "/bin", "script")',
          ].join('\n'),
        ],
        { stdio: 'ignore' },
      );
      let refused = 0;
      let sealed = 0;
      let swappedSeen = 0;
      let lastSealed = false;
      try {
        // The swapper is running once it has moved something of a first tree (python takes a while to start).
        // Each round's tree is made in a folder the swapper cannot reach, then moved into its place.
        const S = join(building, 'staging');
        const setup = async () => {
          await rm(B, { recursive: true, force: true });
          await mkdir(join(S, 'bin'), { recursive: true });
          await mkdir(join(S, 'lib', 'python3', 'site-packages'), { recursive: true });
          await writeFile(
            join(S, 'pyvenv.cfg'),
            `home = /usr/bin\ncommand = /usr/bin/python3 -m venv ${B}\n`,
          );
          await writeFile(join(S, 'bin', 'script'), `#!${B}/bin/python\nprint(1)\n`, { mode: 0o775 });
          await writeFile(join(S, 'bin', 'activate'), `VIRTUAL_ENV=${B}\n`, { mode: 0o664 });
          await symlink(canaryDir, join(S, 'bin.link'));
          await symlink(join(canaryDir, 'pyvenv.cfg'), join(S, 'pyvenv.cfg.link'));
          await symlink(join(canaryDir, 'script'), join(S, 'bin', 'script.link'));
          for (const e of await walk(S)) await lchown(e.path, uid, gid);
          await rename(S, B);
        };
        await setup();
        await eventually(
          async () =>
            (await lstat(join(B, 'bin.real')).catch(() => null)) ??
            (await lstat(join(B, 'pyvenv.cfg.real')).catch(() => null)) ??
            (await lstat(join(B, 'bin', 'script.real')).catch(() => null)),
          { timeoutMs: 20_000, what: 'the swapper running' },
        );
        for (let i = 0; i < 1000; i++) {
          if (i > 0) await setup();
          try {
            await sealEnvironment(B, { uid: 0, gid: 0 }, uid);
            await rewriteVenvPaths(B, finalDir);
            sealed++;
            lastSealed = true;
          } catch (e) {
            // Refusing the environment is a correct outcome; writing elsewhere is not.
            if (!(e instanceof UnsafeEnvironment)) throw e;
            refused++;
            lastSealed = false;
            continue;
          }
          // The swap happened in this round: a name stood for a link or a moved file when root got there.
          const names = await readdir(B).catch(() => [] as string[]);
          if (names.some((n) => n.endsWith('.real'))) swappedSeen++;
          else if ((await lstat(join(B, 'bin')).catch(() => null))?.isSymbolicLink()) swappedSeen++;
          expect(JSON.stringify(canaryState())).toBe(before);
        }
      } finally {
        swapper.kill('SIGKILL');
      }
      expect(JSON.stringify(canaryState())).toBe(before);
      expect(sealed + refused).toBe(1000);
      // The race was real: in some rounds root met the tree mid-swap.
      expect(swappedSeen).toBeGreaterThan(0);
      // After a sealed round nothing of the tree belongs to the job user or is writable by it.
      if (lastSealed)
        for (const e of await walk(B)) {
          expect(e.uid).toBe(0);
          if (!e.link) expect(e.mode & 0o7022).toBe(0);
        }
    }, 180_000);
  },
);

describe.skipIf(!IS_ROOT)('symlink swaps racing the removal of a failed build (needs root)', () => {
  it('1,000 rounds: root never deletes a file outside the tree', async () => {
    const building = join(root, '.building-rm');
    await mkdir(building, { mode: 0o711 });
    const B = join(building, 'env');
    const S = join(building, 'staging');
    const keepDir = join(root, 'keep');
    mkdirSync(keepDir, { mode: 0o700 });
    const keep = () => readdirSync(keepDir).sort();
    // The swapper: in the build folder, `d` (a folder) <-> `d.link` (a link to the root-only folder).
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
          `B = ${JSON.stringify(B)}`,
          'while True:',
          '    try:',
          '        os.rename(B + "/d", B + "/d.real")',
          '        os.rename(B + "/d.link", B + "/d")',
          '        os.rename(B + "/d", B + "/d.link")',
          '        os.rename(B + "/d.real", B + "/d")',
          '    except OSError:',
          '        pass',
        ].join('\n'),
      ],
      { stdio: 'ignore' },
    );
    let swappedSeen = 0;
    try {
      const setup = async (i: number) => {
        // The root-only folder holds files with the names the tree has.
        for (const n of ['a', 'b', 'c']) writeFileSync(join(keepDir, `${n}`), `${i}`);
        await mkdir(join(S, 'd'), { recursive: true });
        for (const n of ['a', 'b', 'c']) await writeFile(join(S, 'd', n), 'build');
        await symlink(keepDir, join(S, 'd.link'));
        for (const e of await walk(S)) await lchown(e.path, uid, gid);
        await rename(S, B);
      };
      await setup(0);
      await eventually(
        async () =>
          (await lstat(join(B, 'd.real')).catch(() => null)) ??
          ((await lstat(join(B, 'd')).catch(() => null))?.isSymbolicLink() || null),
        { timeoutMs: 20_000, what: 'the swapper running' },
      );
      for (let i = 0; i < 1000; i++) {
        if (i > 0) await setup(i);
        if ((await readdir(B)).includes('d.real')) swappedSeen++;
        await removeTree(B);
        expect([existsSync(B), keep()], `round ${i}`).toEqual([false, ['a', 'b', 'c']]);
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(swappedSeen).toBeGreaterThan(0);
  }, 180_000);
});

describe.skipIf(!IS_ROOT)('a shared environment built by the job user (needs root)', () => {
  const asJobUser = (code: string) =>
    new Promise<string>((resolve) =>
      execFile(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '/usr/bin/python3', '-c', code],
        { timeout: 20_000 },
        (_err, out, errOut) => resolve(`${out}${errOut}`.trim()),
      ),
    );

  it('is root-owned and not writable by the job user; an unsealed one is rebuilt, not reused', async () => {
    const served = join(root, 'wheels');
    await mkdir(served);
    const whl = await buildWheel(
      { name: 'sealed-pkg', version: '1.0', modules: { 'sealed_pkg/__init__.py': 'NAME = "sealed"\n' } },
      served,
    );
    const ws = join(root, 'ws');
    await mkdir(ws);
    await writeFile(join(ws, 'requirements.txt'), 'sealed-pkg\n');
    await writeFile(join(ws, whl.split('/').pop() ?? ''), readFileSync(whl));
    await chmod(ws, 0o755);
    for (const e of await readdir(ws)) await chmod(join(ws, e), 0o644);
    const cacheDir = join(root, 'cache');
    const m = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      seedPip: false,
      pip: { noIndex: true },
      buildUser: { uid, gid },
    });
    const req: EnvironmentRequest = {
      jobId: 'sealed',
      workspace: ws,
      requirementsFile: 'requirements.txt',
      systemSitePackages: false,
      timeoutMs: 60_000,
      logFile: join(root, 'sealed.install.log'),
    };
    const r = await m.ensure(req);
    expect(r).toMatchObject({ ok: true, hit: false });
    if (!r.ok) throw new Error(r.detail);
    const entries = await walk(r.venvDir);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.filter((e) => e.uid !== 0).map((e) => e.path)).toEqual([]);
    expect(entries.filter((e) => !e.link && e.mode & 0o7022).map((e) => e.path)).toEqual([]);
    // The job user tries to plant code in the shared environment and to change an installed module.
    const site = join(r.venvDir, 'lib', (await readdir(join(r.venvDir, 'lib')))[0] ?? '', 'site-packages');
    const attempt = await asJobUser(
      [
        'import os',
        'for f in (lambda: open(' +
          JSON.stringify(join(site, 'evil.pth')) +
          ', "w"), lambda: open(' +
          JSON.stringify(join(site, 'sealed_pkg', '__init__.py')) +
          ', "a"), lambda: os.rename(' +
          JSON.stringify(join(site, 'sealed_pkg')) +
          ', ' +
          JSON.stringify(join(site, 'moved')) +
          ')):',
        '    try:',
        '        f(); print("WROTE")',
        '    except PermissionError:',
        '        print("EACCES")',
      ].join('\n'),
    );
    expect(attempt.split('\n')).toEqual(['EACCES', 'EACCES', 'EACCES']);
    // Reused while sealed.
    expect(await m.ensure(req)).toMatchObject({ ok: true, hit: true });
    // No longer sealed (site-packages handed to the job user): rebuilt, and sealed again.
    await chown(site, uid, gid);
    const again = await m.ensure(req);
    expect(again).toMatchObject({ ok: true, hit: false });
    const after = await walk(r.venvDir);
    expect(after.filter((e) => e.uid !== 0 || (!e.link && e.mode & 0o7022)).map((e) => e.path)).toEqual([]);
  }, 120_000);
});
