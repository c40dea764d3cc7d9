// The environment cache: `ensure(req)` returns a ready virtualenv for a workspace's requirements,
// building it at most once per key across every process sharing the cache directory.
//
// ensure: requirements → canonical entries (core/env/requirements.ts) → key (core/env/cache-key.ts) → lock the key
// (key-lock.ts) → hit (the folder exists: record the use, no pip) or build:
//   1. `python -m venv [--without-pip] [--system-site-packages] .building/<key>-<r>`
//   2. `pip install` of our canonical requirements file, with the workspace's distribution folders as
//      --find-links, the device's index settings, a scrubbed environment (core/env/pip-env.ts)
//   3. seal (ours, 0755: seal.ts), rewrite embedded paths for the final location (relocate.ts), size
//   4. rename to `<cacheDir>/<key>` (the commit), check `bin/python` runs from there, write metadata
// then evict least-recently-used environments over the quota. The whole ensure, lock wait included,
// is bounded by req.timeoutMs; req.signal cancels it. Every outcome is a value with a stable code.
//
// Build-then-rename rather than build-in-place: a crash mid-build leaves only a `.building` folder
// that no reader mistakes for an environment (the next sweep deletes it), and readers never need a
// "complete" marker. The price, embedded absolute paths, is paid by relocate.ts.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import {
  access,
  appendFile,
  chown,
  mkdir,
  readdir,
  readFile,
  rename,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { computeKey, type InstallOptions, type InterpreterIdentity, isKey } from '../core/env/cache-key.js';
import { chooseVictims } from '../core/env/eviction.js';
import {
  DEFAULT_PROXY_VARS,
  type PipSettings,
  pipEnvironment,
  pipInstallArgv,
  proxyCredentialsWithheld,
} from '../core/env/pip-env.js';
import { describePipFailure } from '../core/env/pip-errors.js';
import {
  keyText,
  type NormalisedRequirements,
  normaliseRequirements,
  renderEntry,
} from '../core/env/requirements.js';
import type { EnvironmentManager, EnvironmentRequest, EnvironmentResult } from '../core/env/types.js';
import { runStep } from './build-step.js';
import { CacheStore, diskUsage } from './cache-store.js';
import { environmentsInUse } from './in-use-scan.js';
import { probeInterpreter } from './interpreter-probe.js';
import { acquireKeyLock, type HeldLock } from './key-lock.js';
import { rewriteVenvPaths } from './relocate.js';
import { isSealed, removeTree, sealEnvironment, UnsafeEnvironment } from './seal.js';
import {
  checkNoLinks,
  hashLocalPath,
  readWorkspaceFile,
  shippedDistributions,
  WorkspaceError,
} from './workspace-files.js';

export interface EnvironmentManagerOptions {
  /** Root of the cache (created 0755). Environments live in `<cacheDir>/<key>`. */
  cacheDir: string;
  /** Disk quota of the cache, in bytes; LRU eviction after every build keeps it under. */
  maxCacheBytes: number;
  /** Base interpreter (default /usr/bin/python3: must be readable by the job user). */
  python?: string;
  /** The device's index settings (EDGEFLEET_PIP_*). */
  pip?: Partial<PipSettings>;
  /**
   * Give every venv its own pip (ensurepip, ~2 s per build) — the default. When false the venv is
   * made `--without-pip` and the host's `python -m pip --python <venv>` installs into it (needs pip
   * ≥ 22.3 for the base interpreter).
   */
  seedPip?: boolean;
  /** An environment used within this window (ms) is never evicted (default 120 000). */
  inUseGraceMs?: number;
  /** Time between SIGTERM and SIGKILL of a pip process group, in ms (default 5000). */
  killGraceMs?: number;
  /** A build needs this much free disk on the cache's filesystem, in bytes (default 256 MiB). */
  minFreeBytes?: number;
  /** Where PATH, LANG and proxy variables come from (default process.env); nothing else is read. */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** flock(1) binary (default: `flock` on PATH). */
  flockPath?: string;
  /**
   * Run `python -m venv` and pip as this unprivileged user (e.g. the job user's uid/gid), so code
   * a job's sdist runs at build time never runs as root; the finished environment is then given to
   * the executor's user before it is published. Needs the executor to run as root; the workspace
   * must be readable by this user. Default: build as the executor's user.
   */
  buildUser?: { uid: number; gid: number };
  /** Test hook: called with the pid of each pip/venv process. */
  onProcess?: (pid: number) => void;
}

/** The executor's own user: owner of every sealed environment. */
const executorUser = () => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });

type Failure = Extract<EnvironmentResult, { ok: false }>;
const failure = (code: Failure['code'], detail: string): Failure => ({ ok: false, code, detail });

const isNoSpace = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOSPC';

export function createEnvironmentManager(options: EnvironmentManagerOptions): EnvironmentManager {
  const store = new CacheStore(resolve(options.cacheDir));
  const python = options.python ?? '/usr/bin/python3';
  const seedPip = options.seedPip ?? true;
  const graceMs = options.inUseGraceMs ?? 120_000;
  const killGraceMs = options.killGraceMs ?? 5000;
  const minFreeBytes = options.minFreeBytes ?? 256 * 1024 * 1024;
  const sourceEnv = options.env ?? process.env;
  const log = options.logger;
  const settings: PipSettings = {
    indexUrl: options.pip?.indexUrl,
    extraIndexUrls: options.pip?.extraIndexUrls ?? [],
    noIndex: options.pip?.noIndex ?? false,
    findLinks: options.pip?.findLinks ?? [],
    onlyBinary: options.pip?.onlyBinary ?? false,
    proxyVars: options.pip?.proxyVars ?? DEFAULT_PROXY_VARS,
  };
  const withheld = proxyCredentialsWithheld(sourceEnv, settings);
  if (withheld.length > 0)
    log?.warn(
      { variables: withheld },
      'proxy credentials are not given to pip (an sdist build could read them): set EDGEFLEET_PIP_ONLY_BINARY=true to pass them, or let the proxy accept this device by address',
    );
  const installOptions = (systemSitePackages: boolean): InstallOptions => ({
    indexUrl: settings.indexUrl,
    extraIndexUrls: settings.extraIndexUrls,
    noIndex: settings.noIndex,
    findLinks: settings.findLinks,
    onlyBinary: settings.onlyBinary,
    systemSitePackages,
    seedPip,
  });
  /** Keys this process is ensuring right now (never evicted, never swept). */
  const active = new Map<string, number>();
  const hold = (key: string) => active.set(key, (active.get(key) ?? 0) + 1);
  const unhold = (key: string) => {
    const n = (active.get(key) ?? 1) - 1;
    if (n <= 0) active.delete(key);
    else active.set(key, n);
  };

  let ready: Promise<InterpreterIdentity | string> | undefined;
  /**
   * Cache layout + interpreter identity, once (the probe costs ~30 ms; its answer never changes).
   * A failure is not remembered: the next request tries again (a disk mounted late, a fixed python).
   */
  const prepare = async () => {
    ready ??= (async () => {
      await store.init();
      const probe = await probeInterpreter(python, pipEnvironment(sourceEnv, store.dir, settings));
      return probe.ok ? probe.identity : `python is not usable: ${probe.message}`;
    })().catch((e: unknown) => `environment cache ${store.dir} is not usable: ${(e as Error).message}`);
    const r = await ready;
    if (typeof r === 'string') ready = undefined;
    return r;
  };

  async function ensure(req: EnvironmentRequest): Promise<EnvironmentResult> {
    const started = Date.now();
    const deadline = started + req.timeoutMs;
    if (req.signal?.aborted)
      return failure('CANCELED_BY_REQUEST', 'canceled before the environment was prepared');
    const interpreter = await prepare();
    if (typeof interpreter === 'string') return failure('INSTALL_FAILED', interpreter);
    const workspace = resolve(req.workspace);

    // 1. What to install, in canonical form.
    let reqs: NormalisedRequirements | null = null;
    const files: { path: string; sha256: string }[] = [];
    let findLinks: string[] = [];
    try {
      if (req.requirementsFile !== undefined) {
        const n = normaliseRequirements(req.requirementsFile, {
          workspace,
          policy: { onlyBinary: settings.onlyBinary, pinnedIndex: settings.noIndex || !!settings.indexUrl },
          read: (rel) => readWorkspaceFile(workspace, rel),
        });
        if (!n.ok) {
          const p = n.problem;
          return failure(
            'INSTALL_FAILED',
            `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}${p.text ? ` (line "${p.text.slice(0, 120)}")` : ''}`,
          );
        }
        reqs = n.value;
        // Every workspace path the file names (find-links, archives, folders) must be link-free.
        for (const e of [...reqs.requirements, ...reqs.constraints])
          for (const t of e.tokens) if (typeof t !== 'string') await checkNoLinks(workspace, t.ws);
        const shipped = await shippedDistributions(workspace, req.fileHashes);
        files.push(...shipped.files);
        findLinks = shipped.folders.map((f) => (f === '' ? workspace : join(workspace, f)));
        for (const p of new Set(reqs.localPaths)) {
          // Shipped archives are hashed already; folders and other files are hashed here.
          if (shipped.files.some((f) => f.path === p)) continue;
          files.push({ path: `local:${p}/`, sha256: await hashLocalPath(workspace, p) });
        }
      }
    } catch (e) {
      if (e instanceof WorkspaceError) return failure('INSTALL_FAILED', e.message);
      return failure('INSTALL_FAILED', `workspace unreadable: ${(e as Error).message}`);
    }
    const key = computeKey({
      interpreter,
      platform: `${process.platform}-${process.arch}`,
      requirements: reqs ? keyText(reqs) : '',
      files,
      options: installOptions(req.systemSitePackages),
    });
    const venvDir = store.envDir(key);
    const jlog = log?.child({ jobId: req.jobId, envKey: key });

    // 2. One holder per key; a second request waits here for the first build.
    hold(key);
    let lock: HeldLock | undefined;
    let built = false;
    try {
      const got = await acquireKeyLock(store.lockFile(key), {
        deadline,
        signal: req.signal,
        ...(options.flockPath ? { flockPath: options.flockPath } : {}),
      });
      if (!got.ok) {
        if (got.reason === 'aborted')
          return failure('CANCELED_BY_REQUEST', 'canceled while waiting for the environment');
        if (got.reason === 'timeout')
          return failure(
            'INSTALL_TIMEOUT',
            `timed out after ${req.timeoutMs} ms waiting for another build of this environment`,
          );
        return failure('INSTALL_FAILED', got.message);
      }
      lock = got.lock;
      if (await exists(join(venvDir, 'bin', 'python'))) {
        // Shared with this job only while sealed; one that is not (changed since, or made by an older
        // executor) is rebuilt.
        const unsealed = await isSealed(venvDir, executorUser().uid);
        if (unsealed !== null) {
          jlog?.warn({ reason: unsealed }, 'cached environment is not sealed: rebuilding it');
          await store.remove(key);
        }
      }
      if (await exists(join(venvDir, 'bin', 'python'))) {
        // Bookkeeping only: a failure here must not fail a job whose environment is ready.
        await store
          .touch(key, Date.now())
          .catch((e: unknown) => jlog?.warn({ err: e }, 'could not record the environment use'));
        await appendLog(
          req.logFile,
          `[edgefleet] environment ${key} reused from the cache (no install)\n`,
        ).catch((e: unknown) => jlog?.warn({ err: e }, 'could not write the install log'));
        jlog?.info({ hit: true }, 'environment reused');
        return { ok: true, venvDir, key, hit: true, durationMs: Date.now() - started };
      }
      const r = await build({ req, key, venvDir, reqs, findLinks, deadline, workspace, interpreter });
      if (!r.ok) {
        jlog?.warn({ code: r.code, detail: r.detail }, 'environment build failed');
        return r;
      }
      built = true;
      jlog?.info({ hit: false, durationMs: Date.now() - started }, 'environment built');
      return { ok: true, venvDir, key, hit: false, durationMs: Date.now() - started };
    } catch (e) {
      if (isNoSpace(e))
        return failure('DISK_FULL', 'no space left on device while preparing the environment');
      return failure('INSTALL_FAILED', `environment cache error: ${(e as Error).message}`);
    } finally {
      await lock?.release();
      unhold(key);
      if (built)
        await evictInternal(new Set([key])).catch((e: unknown) => log?.warn({ err: e }, 'eviction failed'));
    }
  }

  async function build(b: {
    req: EnvironmentRequest;
    key: string;
    venvDir: string;
    reqs: NormalisedRequirements | null;
    findLinks: string[];
    deadline: number;
    workspace: string;
    interpreter: InterpreterIdentity;
  }): Promise<EnvironmentResult> {
    const { req, key, venvDir, reqs, deadline } = b;
    if (!(await enoughDisk())) {
      await evictInternal(new Set([key]));
      if (!(await enoughDisk()))
        return failure(
          'DISK_FULL',
          `less than ${minFreeBytes} bytes free for a new environment in ${store.dir}`,
        );
    }
    const buildDir = store.newBuildDir(key);
    const home = `${buildDir}.home`;
    const buildUser = options.buildUser;
    await mkdir(dirname(req.logFile), { recursive: true });
    const logStream = createWriteStream(req.logFile, { flags: 'a' });
    // A log that cannot be written (disk full, folder removed) must not crash the executor.
    let logError: Error | null = null;
    logStream.on('error', (e) => {
      logError ??= e;
    });
    const write = (s: string) => logStream.write(s);
    let committed = false;
    try {
      await mkdir(home, { recursive: true, mode: 0o700 });
      if (buildUser) {
        // venv accepts an existing empty folder: create it for the build user, with its HOME.
        await mkdir(buildDir, { mode: 0o755 });
        await chown(buildDir, buildUser.uid, buildUser.gid);
        await chown(home, buildUser.uid, buildUser.gid);
      }
      write(
        `[edgefleet] building environment ${key} with ${b.interpreter.path} (${b.interpreter.version.split(' ')[0]})\n`,
      );
      for (const note of reqs?.notes ?? []) write(`[edgefleet] ${note}\n`);
      const contain = req.containment;
      const env = { ...pipEnvironment(sourceEnv, home, settings), ...contain?.marker };
      const step = async (argv: string[]) => {
        const procs = contain ? await contain.open() : undefined;
        const outcome = await runStep({
          argv,
          env,
          cwd: b.workspace,
          log: logStream,
          deadline,
          signal: req.signal,
          graceMs: killGraceMs,
          user: buildUser,
          ...(procs ? { launch: { python, procs } } : {}),
          ...(options.onProcess ? { onSpawn: options.onProcess } : {}),
        });
        // Nothing the step started (a setsid daemon of a setup.py) may see the next step or the commit.
        await contain?.sweep();
        return outcome;
      };
      const venvArgv = [python, '-m', 'venv'];
      if (!seedPip) venvArgv.push('--without-pip');
      if (req.systemSitePackages) venvArgv.push('--system-site-packages');
      venvArgv.push(buildDir);
      const made = await step(venvArgv);
      const madeFailure = stepFailure(made, req.timeoutMs, (stderr) => ({
        code: 'INSTALL_FAILED',
        detail: `python -m venv failed: ${lastLine(stderr) || 'no output'}`,
      }));
      if (madeFailure) return madeFailure;

      if (reqs) {
        const reqFile = join(home, 'requirements.txt');
        const conFile = join(home, 'constraints.txt');
        await writeFile(reqFile, `${reqs.requirements.map((e) => renderEntry(e, b.workspace)).join('\n')}\n`);
        if (reqs.constraints.length > 0)
          await writeFile(
            conFile,
            `${reqs.constraints.map((e) => renderEntry(e, b.workspace)).join('\n')}\n`,
          );
        // Readable by a build user (they are in its HOME, which it owns).
        if (buildUser)
          for (const f of [reqFile, conFile]) await chown(f, buildUser.uid, buildUser.gid).catch(() => {});
        write(`[edgefleet] requirements as installed:\n${await readFile(reqFile, 'utf8')}`);
        const argv = pipInstallArgv({
          venvPython: join(buildDir, 'bin', 'python'),
          hostPython: python,
          seedPip,
          settings,
          requirementsFile: reqFile,
          constraintsFile: reqs.constraints.length > 0 ? conFile : undefined,
          findLinks: b.findLinks,
        });
        const installed = await step(argv);
        const installFailure = stepFailure(installed, req.timeoutMs, (stderr, code) =>
          describePipFailure(stderr, code),
        );
        if (installFailure) return installFailure;
      }

      // Commit: sealed (ours, read-only to others: seal.ts) before root writes anything in it, then
      // paths for the final location, metadata, and the rename.
      let sizeBytes: number;
      try {
        sizeBytes = await sealEnvironment(buildDir, executorUser(), buildUser?.uid);
      } catch (e) {
        if (e instanceof UnsafeEnvironment)
          return failure('INSTALL_FAILED', `environment refused: ${e.message}`);
        throw e;
      }
      await rewriteVenvPaths(buildDir, venvDir);
      const now = Date.now();
      await store.writeMeta(key, { sizeBytes, createdMs: now, lastUsedMs: now });
      await rename(buildDir, venvDir);
      committed = true;
      const check = await runsFrom(join(venvDir, 'bin', 'python'));
      if (check !== venvDir) {
        await store.remove(key);
        return failure('INSTALL_FAILED', `environment does not run from ${venvDir} (sys.prefix ${check})`);
      }
      write(`[edgefleet] environment ${key} ready (${sizeBytes} bytes)\n`);
      if (logError) log?.warn({ err: logError, jobId: req.jobId }, 'install log incomplete');
      return { ok: true, venvDir, key, hit: false, durationMs: 0 };
    } catch (e) {
      if (isNoSpace(e)) return failure('DISK_FULL', 'no space left on device while building the environment');
      throw e;
    } finally {
      await new Promise<void>((r) => {
        if (logStream.destroyed) return r();
        logStream.end(() => r());
        logStream.once('error', () => r());
      });
      await removeTree(home);
      if (!committed) await removeTree(buildDir);
    }
  }

  const stepFailure = (
    o: Awaited<ReturnType<typeof runStep>>,
    timeoutMs: number,
    onExit: (stderr: string, code: number | null) => { code: 'INSTALL_FAILED' | 'DISK_FULL'; detail: string },
  ): Failure | null => {
    switch (o.kind) {
      case 'exited':
        return o.code === 0 ? null : failure(...pair(onExit(o.stderr, o.code)));
      case 'signaled':
        return failure(...pair(onExit(o.stderr, null)));
      case 'timeout':
        return failure('INSTALL_TIMEOUT', `environment not ready within ${timeoutMs} ms (install stopped)`);
      case 'aborted':
        return failure('CANCELED_BY_REQUEST', 'install stopped: canceled');
      case 'spawn-failed':
        return failure('INSTALL_FAILED', `could not start ${python}: ${o.message}`);
    }
  };

  async function enoughDisk(): Promise<boolean> {
    const s = await statfs(store.dir);
    return s.bavail * s.bsize >= minFreeBytes;
  }

  async function evictInternal(keep: Set<string>): Promise<{ removed: string[]; bytesFreed: number }> {
    if (typeof (await prepare()) === 'string') return { removed: [], bytesFreed: 0 };
    const [keys, running] = await Promise.all([store.keys(), environmentsInUse(store.dir)]);
    const now = Date.now();
    const entries = [];
    for (const key of keys) {
      let meta = await store.readMeta(key);
      if (meta === null) {
        // Committed but metadata lost (a crash in between): measure it, count it as just used.
        meta = { sizeBytes: await diskUsage(store.envDir(key)), createdMs: now, lastUsedMs: now };
        await store.writeMeta(key, meta);
      }
      entries.push({ key, ...meta, inUse: running.has(key) || active.has(key) || keep.has(key) });
    }
    const removed: string[] = [];
    let bytesFreed = 0;
    for (const victim of chooseVictims(entries, options.maxCacheBytes, now, graceMs)) {
      // Re-check under the key's lock: a hit in another process may have used it since we looked.
      const got = await acquireKeyLock(store.lockFile(victim.key), {
        deadline: Date.now() + 5000,
        nonBlocking: true,
        ...(options.flockPath ? { flockPath: options.flockPath } : {}),
      });
      if (!got.ok) continue;
      try {
        const fresh = await store.readMeta(victim.key);
        if (fresh && Date.now() - fresh.lastUsedMs < graceMs) continue;
        if (active.has(victim.key)) continue;
        if (await store.remove(victim.key)) {
          removed.push(victim.key);
          bytesFreed += victim.sizeBytes;
          log?.info({ envKey: victim.key, sizeBytes: victim.sizeBytes }, 'environment evicted');
        }
      } finally {
        await got.lock.release();
      }
    }
    await sweepBuilding();
    await store.sweep(Date.now());
    return { removed, bytesFreed };
  }

  /** Deletes build folders whose builder is gone (its key lock is free and not ours). */
  async function sweepBuilding(): Promise<void> {
    const dir = store.buildingDir();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const key = name.split('-')[0] ?? '';
      if (!isKey(key) || active.has(key)) continue;
      const got = await acquireKeyLock(store.lockFile(key), {
        deadline: Date.now() + 5000,
        nonBlocking: true,
      });
      if (!got.ok) continue;
      try {
        await removeTree(join(dir, name));
      } finally {
        await got.lock.release();
      }
    }
  }

  return {
    ensure,
    evict: () => evictInternal(new Set()),
  };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

const lastLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1) ?? '';

const pair = (f: { code: 'INSTALL_FAILED' | 'DISK_FULL'; detail: string }) => [f.code, f.detail] as const;

async function appendLog(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, text);
}

/** sys.prefix of `venvPython` (an isolated run: no site, no user env). */
function runsFrom(venvPython: string): Promise<string> {
  return new Promise((res) => {
    execFile(
      venvPython,
      ['-I', '-c', 'import sys; print(sys.prefix)'],
      { timeout: 30_000, env: {} },
      (err, out) => res(err ? `error: ${err.message}` : out.trim()),
    );
  });
}
