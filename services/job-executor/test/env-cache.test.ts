// The environment cache against the real thing: /usr/bin/python3 venvs, real pip, wheels built here
// and served from a loopback HTTP server (no PyPI). Venvs are expensive (~2–4 s each with pip
// seeded), so one cache directory is shared and most builds use the host's pip (seedPip: false).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWheel, type FileServer, serveFiles } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskUsage } from '../src/env/cache-store.js';
import {
  createEnvironmentManager,
  type EnvironmentManager,
  type EnvironmentRequest,
} from '../src/env/index.js';

const SECRET = 'sekrit-aws-value-4711';
let root: string;
let cacheDir: string;
let served: string;
let server: FileServer;
let fast: EnvironmentManager; // host pip, shared cache
const pids: number[] = [];

const wheel = (
  name: string,
  version = '1.0',
  extra: Record<string, string> = {},
  dependencies?: string[],
) => {
  const mod = name.replace(/-/g, '_');
  return {
    name,
    version,
    modules: {
      [`${mod}/__init__.py`]: `NAME = ${JSON.stringify(name)}\nVERSION = ${JSON.stringify(version)}\n`,
      ...extra,
    },
    ...(dependencies ? { dependencies } : {}),
  };
};

/** A fresh workspace with the given files (text) and copies of built wheels. */
async function workspace(
  files: Record<string, string>,
  wheels: Record<string, string> = {},
): Promise<string> {
  const ws = await mkdtemp(join(root, 'ws-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(ws, rel, '..'), { recursive: true });
    await writeFile(join(ws, rel), text);
  }
  for (const [rel, src] of Object.entries(wheels)) {
    await mkdir(join(ws, rel, '..'), { recursive: true });
    await copyFile(src, join(ws, rel));
  }
  return ws;
}

const request = (ws: string, over: Partial<EnvironmentRequest> = {}): EnvironmentRequest => ({
  jobId: `job-${ws.slice(-6)}`,
  workspace: ws,
  requirementsFile: 'requirements.txt',
  systemSitePackages: false,
  timeoutMs: 60_000,
  logFile: join(ws, '..', `${ws.split('/').pop()}.install.log`),
  ...over,
});

const py = (venv: string, code: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(join(venv, 'bin', 'python'), ['-c', code], { timeout: 20_000 }, (err, out, errOut) =>
      err ? reject(new Error(errOut || err.message)) : resolve(out.trim()),
    ),
  );

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  root = await mkdtemp(join(tmpdir(), 'edgefleet-env-'));
  cacheDir = join(root, 'cache');
  served = join(root, 'served');
  await mkdir(served);
  for (const n of ['demo-index', 'demo-url', 'demo-bare', 'demo-conc', 'slow-pkg'])
    await buildWheel(wheel(n), served);
  server = await serveFiles(served);
  fast = createEnvironmentManager({
    cacheDir,
    maxCacheBytes: 1 << 30,
    seedPip: false,
    killGraceMs: 500,
    pip: { indexUrl: `${server.url}/simple/` },
    onProcess: (pid) => pids.push(pid),
  });
});

afterAll(async () => {
  delete process.env.AWS_SECRET_ACCESS_KEY;
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('environment cache (real venvs, local wheels)', () => {
  let mainWs: string;
  let mainKey: string;
  let mainReqs: Record<string, string>;
  let localWheel: string;
  let shippedWheel: string;

  it('installs names (index, find-links, shipped), name @ url, bare URL, -r and -c; secrets do not reach pip', async () => {
    const build = join(root, 'build');
    await mkdir(build);
    localWheel = await buildWheel(wheel('demo-local', '1.5'), build);
    shippedWheel = await buildWheel(wheel('demo-shipped', '2.0', {}, ['demo-index>=1']), build);
    mainReqs = {
      'requirements.txt': [
        '# the job author writes this',
        'demo-index==1.0',
        '-f ./wheels',
        `demo-url @ ${server.url}/demo_url-1.0-py3-none-any.whl?token=\${AWS_SECRET_ACCESS_KEY}`,
        `${server.url}/demo_bare-1.0-py3-none-any.whl`,
        '-r reqs/more.txt',
        '-c constraints.txt',
      ].join('\n'),
      'reqs/more.txt': 'demo-local   # from ./wheels\ndemo-shipped\n',
      'constraints.txt': 'demo-local<2\n',
      'main.py': 'print(1)\n',
    };
    mainWs = await workspace(mainReqs, {
      'wheels/demo_local-1.5-py3-none-any.whl': localWheel,
      'demo_shipped-2.0-py3-none-any.whl': shippedWheel,
    });
    // The default manager: the venv gets its own pip (the production setting).
    const seeded = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      pip: { indexUrl: `${server.url}/simple/` },
    });
    const req = request(mainWs);
    const r = await seeded.ensure(req);
    expect(r).toMatchObject({ ok: true, hit: false });
    if (!r.ok) throw new Error(r.detail);
    mainKey = r.key;
    expect(r.venvDir).toBe(join(cacheDir, r.key));
    const versions = await py(
      r.venvDir,
      'import demo_index, demo_local, demo_url, demo_bare, demo_shipped as s, sys; ' +
        'print(demo_local.VERSION, s.VERSION, demo_url.NAME, demo_bare.NAME, demo_index.NAME, sys.prefix)',
    );
    expect(versions).toBe(`1.5 2.0 demo-url demo-bare demo-index ${r.venvDir}`);
    expect((await stat(r.venvDir)).mode & 0o777).toBe(0o755);
    // The venv's own pip works from its final (renamed) location.
    expect(await py(r.venvDir, 'import pip, sys; print(pip.__file__.startswith(sys.prefix))')).toBe('True');
    // Console scripts were rewritten for the final location before the rename.
    const pipScript = await readFile(join(r.venvDir, 'bin', 'pip'), 'utf8');
    expect(pipScript.split('\n')[0]).toBe(`#!${r.venvDir}/bin/python3`);
    const pipVersion = await new Promise<string>((resolve, reject) =>
      execFile(join(r.venvDir, 'bin', 'pip'), ['--version'], { timeout: 20_000 }, (e, out) =>
        e ? reject(e) : resolve(out),
      ),
    );
    expect(pipVersion).toContain(r.venvDir);
    expect(await readFile(join(r.venvDir, 'bin', 'activate'), 'utf8')).not.toContain('.building');
    const log = await readFile(req.logFile, 'utf8');
    expect(log).toContain('Successfully installed');
    expect(log).not.toContain(SECRET);
    expect(server.requests.join('\n')).not.toContain(SECRET);
    expect(server.requests).toContain('/demo_url-1.0-py3-none-any.whl?token=');
  }, 60_000);

  it.skipIf(process.getuid?.() !== 0)(
    'the job user can import from the cached environment but not change it (needs root: runs as nobody)',
    async () => {
      const venvDir = join(cacheDir, mainKey);
      // The job runs as an unprivileged user: it can import from the cache but not change it.
      await chmod(root, 0o755);
      const asNobody = (code: string) =>
        new Promise<string>((resolve) =>
          execFile(
            join(venvDir, 'bin', 'python'),
            ['-c', code],
            { uid: 65534, gid: 65534, cwd: '/', timeout: 20_000 },
            (e, out, err) => resolve(e ? `error: ${err}` : out.trim()),
          ),
        );
      expect(
        await asNobody('import demo_index, demo_local, demo_url, demo_bare, demo_shipped; print("ok")'),
      ).toBe('ok');
      expect(await asNobody(`open(${JSON.stringify(join(venvDir, 'x'))}, 'w')`)).toMatch(/PermissionError/);
      expect(
        await asNobody(`import os; print(os.listdir(${JSON.stringify(join(cacheDir, '.meta'))}))`),
      ).toMatch(/PermissionError/);
    },
    60_000,
  );

  it('reuses the environment for the same requirements in another workspace: no pip, no download', async () => {
    const before = server.requests.length;
    const ws = await workspace(mainReqs, {
      'wheels/demo_local-1.5-py3-none-any.whl': localWheel,
      'demo_shipped-2.0-py3-none-any.whl': shippedWheel,
    });
    const seeded = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      pip: { indexUrl: `${server.url}/simple/` },
    });
    const r = await seeded.ensure(request(ws));
    expect(r).toMatchObject({ ok: true, hit: true, key: mainKey });
    expect(server.requests.length).toBe(before);
    if (r.ok) expect(r.durationMs).toBeLessThan(2000);
  });

  it('builds one environment for two concurrent requests with the same key', async () => {
    const reqs = { 'requirements.txt': `${server.url}/demo_conc-1.0-py3-none-any.whl\n` };
    const [a, b] = await Promise.all([
      fast.ensure(request(await workspace(reqs))),
      fast.ensure(request(await workspace(reqs))),
    ]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    if (!a.ok || !b.ok) throw new Error('build failed');
    expect(a.venvDir).toBe(b.venvDir);
    expect([a.hit, b.hit].sort()).toEqual([false, true]);
    expect(server.requests.filter((p) => p.startsWith('/demo_conc')).length).toBe(1);
    expect(a.key).not.toBe(mainKey);
    expect(await py(a.venvDir, 'import demo_conc; print(demo_conc.NAME)')).toBe('demo-conc');
  });

  it('fails with INSTALL_FAILED naming a requirement that cannot be satisfied', async () => {
    const r = await fast.ensure(
      request(await workspace({ 'requirements.txt': 'demo-index\nnosuchpkg==9.9\n' })),
    );
    expect(r).toEqual({
      ok: false,
      code: 'INSTALL_FAILED',
      detail:
        'requirement "nosuchpkg==9.9" could not be satisfied: No matching distribution found for nosuchpkg==9.9',
    });
  });

  it('stops a hanging install with INSTALL_TIMEOUT and leaves no pip process behind', async () => {
    server.stall('/slow_pkg-1.0-py3-none-any.whl');
    const ws = await workspace({ 'requirements.txt': `${server.url}/slow_pkg-1.0-py3-none-any.whl\n` });
    const from = pids.length;
    // The stalled download never ends, so the timeout always ends the install; it must only leave pip
    // time to start and ask for the wheel first, even on a loaded machine (pip's start-up alone has taken
    // over 4 s at a load average of 15).
    const r = await fast.ensure(request(ws, { timeoutMs: 15_000 }));
    expect(r).toMatchObject({ ok: false, code: 'INSTALL_TIMEOUT' });
    const mine = pids.slice(from);
    expect(mine.length).toBe(2); // venv, pip
    for (const pid of mine) expect(alive(pid)).toBe(false);
    expect(server.requests).toContain('/slow_pkg-1.0-py3-none-any.whl');
    const building = await readdir(join(cacheDir, '.building'));
    expect(building).toEqual([]);
  }, 45_000);

  it('refuses traversal and local paths outside the workspace before running anything', async () => {
    const cases: [string, RegExp][] = [
      ['-r ../../etc/x', /requirements\.txt:1: path "\.\.\/\.\.\/etc\/x" is not a safe workspace path/],
      ['-e /opt/lib', /absolute path "\/opt\/lib"/],
      ['x @ file:///etc/passwd', /points outside the workspace/],
      ['-f file:///var/cache/wheels', /points outside the workspace/],
    ];
    const from = pids.length;
    for (const [line, detail] of cases) {
      const r = await fast.ensure(request(await workspace({ 'requirements.txt': `${line}\n` })));
      expect(r).toMatchObject({ ok: false, code: 'INSTALL_FAILED' });
      if (!r.ok) expect(r.detail).toMatch(detail);
    }
    // Links out of the workspace: a linked find-links folder, a linked "wheel" pip would pick up.
    const linkedDir = await workspace({ 'requirements.txt': '-f ./wheels\nfoo\n' });
    await symlink('/etc', join(linkedDir, 'wheels'));
    const linkedWheel = await workspace({ 'requirements.txt': 'foo\n' });
    await symlink('/etc/passwd', join(linkedWheel, 'foo-1.0-py3-none-any.whl'));
    for (const ws of [linkedDir, linkedWheel]) {
      const r = await fast.ensure(request(ws));
      expect(r).toMatchObject({ ok: false, code: 'INSTALL_FAILED' });
      if (!r.ok) expect(r.detail).toMatch(/symbolic link/);
    }
    expect(pids.length).toBe(from);
  });

  it('stops an install in progress when the request is aborted (CANCELED_BY_REQUEST)', async () => {
    const ws = await workspace({ 'requirements.txt': `${server.url}/slow_pkg-1.0-py3-none-any.whl\n` });
    const ac = new AbortController();
    const seen: number[] = [];
    const m = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      seedPip: false,
      killGraceMs: 500,
      // Abort once pip (the second process: venv, then pip) has started.
      onProcess: (pid) => {
        seen.push(pid);
        if (seen.length === 2) setImmediate(() => ac.abort());
      },
    });
    const r = await m.ensure(request(ws, { signal: ac.signal }));
    expect(r).toMatchObject({ ok: false, code: 'CANCELED_BY_REQUEST' });
    for (const pid of seen) expect(alive(pid)).toBe(false);
  }, 20_000);

  it('answers DISK_FULL when the cache filesystem lacks room for a build, before building', async () => {
    const from = pids.length;
    const m = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      seedPip: false,
      minFreeBytes: 2 ** 60,
    });
    const r = await m.ensure(request(await workspace({ 'requirements.txt': 'anything-new\n' })));
    expect(r).toMatchObject({ ok: false, code: 'DISK_FULL' });
    expect(pids.length).toBe(from);
  });

  it('makes a bare venv without requirements, optionally seeing system site-packages', async () => {
    const ws = await workspace({});
    const r = await fast.ensure(request(ws, { requirementsFile: undefined, systemSitePackages: true }));
    expect(r).toMatchObject({ ok: true, hit: false });
    if (!r.ok) throw new Error(r.detail);
    expect(await readFile(join(r.venvDir, 'pyvenv.cfg'), 'utf8')).toMatch(
      /include-system-site-packages = true/,
    );
    const again = await fast.ensure(request(ws, { requirementsFile: undefined, systemSitePackages: false }));
    expect(again.ok && again.key !== r.key).toBe(true);
  });
});

describe('building as an unprivileged user', () => {
  it('runs venv and pip as the build user and publishes a root-owned, read-only environment', async (ctx) => {
    // Switching users needs root (the executor on a device is root).
    if (process.getuid?.() !== 0) ctx.skip('not root: switching to the build user needs root');
    await chmod(root, 0o755);
    const w = await buildWheel(wheel('as-nobody'), join(root, 'served'));
    const ws = await workspace(
      { 'requirements.txt': 'as-nobody\n' },
      { 'as_nobody-1.0-py3-none-any.whl': w },
    );
    await chmod(ws, 0o755);
    const seen: number[] = [];
    const uids: string[] = [];
    const m = createEnvironmentManager({
      cacheDir,
      maxCacheBytes: 1 << 30,
      seedPip: false,
      pip: { noIndex: true },
      buildUser: { uid: 65534, gid: 65534 },
      onProcess: (pid) => {
        seen.push(pid);
        // /proc/<pid>/status "Uid:" line: real, effective, saved, fs uids of the build step.
        void readFile(`/proc/${pid}/status`, 'utf8')
          .then((t) => uids.push(/^Uid:\s+(\d+)/m.exec(t)?.[1] ?? '?'))
          .catch(() => {});
      },
    });
    const r = await m.ensure(request(ws));
    expect(r).toMatchObject({ ok: true, hit: false });
    if (!r.ok) throw new Error(r.detail);
    expect(seen.length).toBe(2);
    expect(uids.length).toBeGreaterThan(0);
    expect(uids.every((u) => u === '65534')).toBe(true);
    const installed = join(
      r.venvDir,
      'lib',
      (await readdir(join(r.venvDir, 'lib')))[0] ?? '',
      'site-packages',
      'as_nobody',
      '__init__.py',
    );
    const st = await stat(installed);
    expect([st.uid, st.mode & 0o022]).toEqual([0, 0]);
    expect(await py(r.venvDir, 'import as_nobody; print(as_nobody.NAME)')).toBe('as-nobody');
  });
});

describe('LRU eviction under a quota', () => {
  it('evicts the least recently used environment, never one in use', async () => {
    const lruCache = join(root, 'lru-cache');
    const wheels = join(root, 'lru-wheels');
    await mkdir(wheels);
    const ws: Record<string, string> = {};
    for (const n of ['a', 'b', 'c']) {
      const w = await buildWheel(
        wheel(`lru-${n}`, '1.0', { [`lru_${n}/pad.py`]: `# ${n}\n`.repeat(2000) }),
        wheels,
      );
      ws[n] = await workspace({ 'requirements.txt': `lru-${n}\n` }, { [w.split('/').pop() ?? '']: w });
    }
    const opts = { cacheDir: lruCache, seedPip: false, inUseGraceMs: 0, pip: { noIndex: true } };
    const big = createEnvironmentManager({ ...opts, maxCacheBytes: 1 << 30 });
    const a = await big.ensure(request(ws.a!));
    const b = await big.ensure(request(ws.b!));
    if (!a.ok || !b.ok) throw new Error('build failed');
    expect(a.key).not.toBe(b.key);
    const hitA = await big.ensure(request(ws.a!)); // a is now more recent than b
    expect(hitA).toMatchObject({ ok: true, hit: true });
    const sizeA = await diskUsage(a.venvDir);
    const sizeB = await diskUsage(b.venvDir);
    // Room for two environments: building c must push out exactly one, the least recently used (b).
    const quota = sizeA + sizeB + Math.floor(Math.min(sizeA, sizeB) / 2);
    const small = createEnvironmentManager({ ...opts, maxCacheBytes: quota });
    const c = await small.ensure(request(ws.c!));
    if (!c.ok) throw new Error('build failed');
    expect(existsSync(b.venvDir)).toBe(false);
    expect(existsSync(a.venvDir)).toBe(true);
    expect(existsSync(c.venvDir)).toBe(true);

    // A job running from a's venv pins it, even with a zero quota.
    const sleeper = spawn(join(a.venvDir, 'bin', 'python'), ['-c', 'import time; time.sleep(60)'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => sleeper.once('spawn', r));
      // A build folder left by a crashed builder (its key lock is free) is swept too.
      const orphan = join(lruCache, '.building', `${'f'.repeat(32)}-0123456789ab`);
      await mkdir(join(orphan, 'bin'), { recursive: true });
      const zero = createEnvironmentManager({ ...opts, maxCacheBytes: 0 });
      const out = await zero.evict();
      expect(existsSync(orphan)).toBe(false);
      expect(out.removed).toEqual([c.key]);
      expect(out.bytesFreed).toBeGreaterThan(0);
      expect(existsSync(a.venvDir)).toBe(true);
      expect(existsSync(c.venvDir)).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
    }
    // Evicted means rebuilt on the next request.
    const again = await big.ensure(request(ws.b!));
    expect(again).toMatchObject({ ok: true, hit: false, key: b.key });
  }, 40_000);
});
