#!/usr/bin/env node
// Builds, for each service, the exact pruned bundle its image holds under /app (docker/deploy-bundle.sh,
// the script the Dockerfile runs, plus healthcheck.mjs) into a temporary folder outside the workspace,
// and starts it there the way the image does: plain `node dist/main.js`, nothing else on the path.
// A file or a dependency missing from an image therefore fails here, without a Docker engine.
//
// Per service:
//   1. deploy the bundle; it must hold no platform-specific package or native addon, so the bundle
//      an amd64 builder makes for arm64 (deploy-bundle.sh … arm64) is this same one;
//   2. every symlink resolves inside the bundle (nothing points back into the workspace);
//   3. read the settings the bundle's config declares (its EDGEFLEET_* names and DEFAULT_PORT);
//   4. a bad variable (EDGEFLEET_PORT=not-a-port) exits with code 2 naming it, without Redis;
//   5. with a real redis-server (password, AOF appendfsync always, as on a device) the service starts,
//      the image's HEALTHCHECK script (healthcheck.mjs) passes and /healthz answers;
//   6. SIGTERM stops it within the deadline (exit code reported), and then the HEALTHCHECK fails.
// Needs `pnpm build` first. Network: loopback only (AWS_ENDPOINT_URL points at a closed local port).
//
//   node docker/check-bundles.mjs [service…]     (default: all four; prints a table, exit 1 on failure)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(here);

/** The services, with the PORT build argument their images are built with (compose.yaml). */
export const SERVICES = {
  'job-receiver': { port: 4100 },
  'job-executor': { port: 4101 },
  'result-uploader': { port: 4102 },
  'gossip-membership': { port: 4001 },
};

const DEPLOY_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * Runs a command to completion with a hard deadline; resolves with its exit code and output.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: Record<string, string>, timeoutMs: number }} opts
 * @returns {Promise<{ code: number | string, output: string }>}
 */
export function run(cmd, args, opts) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const add = (d) => {
      output = (output + d).slice(-64_000);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => {
      output += `\n[killed after ${opts.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => add(`\n[spawn error: ${e.message}]`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, output });
    });
  });
}

function canBind(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port in [20000, 32000): below the ephemeral range, so outgoing connections cannot take it. */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new Error('no free port in [20000, 32000) after 200 tries');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends AUTH + PING over a raw socket; true on +PONG. */
function redisPing(port, password) {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('+PONG')) done(true);
      else if (buf.includes('-')) done(false);
    });
  });
}

/**
 * A redis-server child configured like the device's (password, AOF with appendfsync always), on a
 * free port, with its data in `dir`. stop() kills it.
 * @param {string} dir
 */
export async function startRedis(dir) {
  const password = randomBytes(16).toString('hex');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--requirepass',
        password,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await redisPing(port, password)) {
        return {
          port,
          password,
          url: `redis://127.0.0.1:${port}`,
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGKILL');
            await exited;
          },
        };
      }
      await sleep(50);
    }
    child.kill('SIGKILL'); // lost a race for the port, or too slow: try another port
  }
  throw new Error('redis-server did not start (is it installed?)');
}

/**
 * One walk of a bundle: its files (relative paths, sorted), their total size in bytes, and the
 * symlinks whose target is outside the bundle or missing (a link back into the workspace would work
 * here and break in the image).
 */
function inspectBundle(dir) {
  const files = [];
  const escaping = [];
  let bytes = 0;
  const realDir = realpathSync(dir);
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
        continue;
      }
      const rel = relative(dir, p);
      files.push(rel);
      if (entry.isFile()) bytes += lstatSync(p).size;
      else if (entry.isSymbolicLink()) {
        let target;
        try {
          target = realpathSync(p);
        } catch {
          escaping.push(`${rel} (dangling)`);
          continue;
        }
        if (target !== realDir && !target.startsWith(realDir + sep)) escaping.push(`${rel} -> ${target}`);
      }
    }
  };
  walk(dir);
  return { files: files.sort(), bytes, escaping };
}

// pnpm's own bookkeeping, not part of what runs.
const isPnpmState = (rel) => /(^|\/)\.modules\.yaml$|(^|\/)\.pnpm-workspace-state[^/]*$/.test(rel);

/**
 * Settings the bundle declares: its EDGEFLEET_* variables and DEFAULT_PORT, read by the bundle's own
 * node (so from dist/, with the bundle's dependencies).
 * @param {string} app
 * @returns {Promise<{ service: string, defaultPort: number, variables: string[] }>}
 */
export async function bundleSettings(app) {
  const script = [
    "const c = await import('./dist/config.js');",
    "const kit = await import('@edgefleet/service-kit');",
    'const shape = c.ConfigSchema?.shape ?? c.ConfigSchema?.def?.shape;',
    "if (!shape) throw new Error('dist/config.js exports no ConfigSchema object');",
    'console.log(JSON.stringify({ service: c.SERVICE, defaultPort: c.DEFAULT_PORT,',
    '  variables: Object.keys(shape).map((k) => kit.envName(k)).sort() }));',
  ].join('\n');
  const r = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '' },
    timeoutMs: 15_000,
  });
  if (r.code !== 0) throw new Error(`reading the bundle's config failed (${r.code}):\n${r.output}`);
  return JSON.parse(r.output.trim().split('\n').at(-1) ?? '');
}

/**
 * Deploys one service's bundle into `workDir` (must exist, empty) the way its image does.
 * @param {string} service
 * @param {string} workDir
 * @param {string} [arch] Docker TARGETARCH (amd64 | arm64); default: this machine's
 */
export async function deployBundle(service, workDir, arch) {
  const app = join(workDir, arch ? `app-${arch}` : 'app');
  const r = await run('sh', [join(here, 'deploy-bundle.sh'), service, app, ...(arch ? [arch] : [])], {
    cwd: ROOT,
    timeoutMs: DEPLOY_TIMEOUT_MS,
  });
  if (r.code !== 0) throw new Error(`deploy-bundle.sh ${service} failed (${r.code}):\n${r.output}`);
  await copyFile(join(here, 'healthcheck.mjs'), join(app, 'healthcheck.mjs'));
  return app;
}

/** The environment a bundle is started with: the image's defaults plus a device-like configuration. */
async function serviceEnv(service, redis, dataDir) {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dataDir,
    NODE_ENV: 'production',
    EDGEFLEET_PORT: String(port),
    EDGEFLEET_HTTP_HOST: '127.0.0.1',
    EDGEFLEET_REDIS_URL: redis.url,
    EDGEFLEET_REDIS_PASSWORD: redis.password,
    EDGEFLEET_NODE_NAME: 'bundle-check',
    EDGEFLEET_API_TOKEN: randomBytes(16).toString('hex'),
    EDGEFLEET_LOG_LEVEL: 'warn',
    EDGEFLEET_DATA_DIR: dataDir,
    // Loopback only: nothing listens on port 9 (discard), so no request leaves the machine.
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bundle-check',
    AWS_SECRET_ACCESS_KEY: 'bundle-check',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  };
  if (service === 'job-executor') {
    // The image's job user when this machine has it (scripts/install-system-deps.sh makes it), else
    // one every system has: a root executor refuses to start with a job user that does not exist.
    const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '';
    env.EDGEFLEET_JOB_USER = /^edgefleet-job:/m.test(passwd) ? 'edgefleet-job' : 'nobody';
  }
  if (service === 'gossip-membership') {
    env.EDGEFLEET_BIND_PORT = String(await freePort());
    env.EDGEFLEET_BIND_ADDR = '127.0.0.1';
    env.EDGEFLEET_ADVERTISE_ADDR = '127.0.0.1';
  }
  return { env, port };
}

/**
 * The whole check of one service (steps 1–6 above). Throws an Error with the service's output on
 * failure; cleans up its temporary folder and processes either way.
 * @param {string} service
 * @param {{ redis: { url: string, password: string }, keep?: boolean }} opts
 */
export async function checkBundle(service, opts) {
  const spec = SERVICES[service];
  if (!spec) throw new Error(`unknown service ${service}`);
  const work = mkdtempSync(join(tmpdir(), `edgefleet-bundle-${service}-`));
  // mkdtemp makes it 0700; the executor refuses a data folder its job user cannot traverse.
  chmodSync(work, 0o755);
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  const t0 = Date.now();
  try {
    // 1. the bundle; it must be the same on every architecture: no platform-specific package in its
    // lockfile (cpu/os/libc), no native addon (*.node) that a build on another arch would get wrong.
    const app = await deployBundle(service, work);
    const inspected = inspectBundle(app);
    const files = inspected.files.filter((f) => !isPnpmState(f));
    const lock = readFileSync(join(app, 'pnpm-lock.yaml'), 'utf8');
    const platformSpecific = [...lock.matchAll(/^\s+(cpu|os|libc): (.*)$/gm)].map((m) => m[0].trim());
    if (platformSpecific.length)
      throw new Error(
        `platform-specific packages in the bundle (check the arm64 build): ${platformSpecific}`,
      );
    const addons = files.filter((f) => f.endsWith('.node'));
    if (addons.length) throw new Error(`native addons in the bundle (check the arm64 build): ${addons}`);
    if (!existsSync(join(app, 'dist', 'main.js'))) throw new Error('the bundle has no dist/main.js');

    // 2. self-contained
    if (inspected.escaping.length)
      throw new Error(`symlinks leaving the bundle: ${inspected.escaping.slice(0, 10).join(', ')}`);

    // 3. what it reads, and the Dockerfile's PORT guard
    const settings = await bundleSettings(app);
    if (settings.service !== service) throw new Error(`the bundle is ${settings.service}, not ${service}`);
    const portCheck = await run(process.execPath, [join(here, 'check-port.mjs'), app, String(spec.port)], {
      timeoutMs: 15_000,
    });
    if (portCheck.code !== 0) throw new Error(`check-port.mjs: ${portCheck.output}`);

    // 4. a bad variable: exit 2, naming it (config is validated before anything connects)
    const bad = await run(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', EDGEFLEET_PORT: 'not-a-port' },
      timeoutMs: 15_000,
    });
    if (bad.code !== 2 || !bad.output.includes('EDGEFLEET_PORT'))
      throw new Error(
        `EDGEFLEET_PORT=not-a-port: expected exit 2 naming the variable, got ${bad.code}:\n${bad.output}`,
      );

    // 5. start against Redis; the image's HEALTHCHECK must pass
    const dataDir = join(work, 'data');
    const { env, port } = await serviceEnv(service, opts.redis, dataDir);
    const started = Date.now();
    child = spawn(process.execPath, ['dist/main.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d) => {
      output = (output + d).slice(-64_000);
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    const exited = new Promise((r) => child?.once('exit', (code, signal) => r(code ?? signal ?? -1)));
    let healthy = false;
    let lastCheck = '';
    while (Date.now() - started < START_TIMEOUT_MS) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${output}`);
      const hc = await run(process.execPath, [join(app, 'healthcheck.mjs')], {
        cwd: app,
        env,
        timeoutMs: 10_000,
      });
      if (hc.code === 0) {
        healthy = true;
        break;
      }
      lastCheck = hc.output;
      await sleep(200);
    }
    if (!healthy)
      throw new Error(
        `healthcheck.mjs did not pass within ${START_TIMEOUT_MS} ms (${lastCheck.trim()}):\n${output}`,
      );
    const healthMs = Date.now() - started;
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
    const body = await res.json();
    if (res.status !== 200 || body?.service !== service)
      throw new Error(`/healthz answered ${res.status} ${JSON.stringify(body)}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.status)
      .catch(() => 0);

    // 6. graceful stop
    child.kill('SIGTERM');
    const stopCode = await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => 'timeout')]);
    if (stopCode === 'timeout')
      throw new Error(`did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${output}`);
    child = undefined;
    // …and with nothing listening, the HEALTHCHECK fails (exit 1), as Docker expects.
    const down = await run(process.execPath, [join(app, 'healthcheck.mjs')], {
      cwd: app,
      env,
      timeoutMs: 10_000,
    });
    if (down.code !== 1)
      throw new Error(`healthcheck.mjs exited ${down.code} with the service stopped, not 1`);

    return {
      service,
      files: files.length,
      bytes: inspected.bytes,
      variables: settings.variables,
      defaultPort: settings.defaultPort,
      healthMs,
      readyz: ready,
      stopCode,
      seconds: (Date.now() - t0) / 1000,
      output,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  const services = wanted.length ? wanted : Object.keys(SERVICES);
  const redisDir = mkdtempSync(join(tmpdir(), 'edgefleet-bundle-redis-'));
  const redis = await startRedis(redisDir);
  let failed = 0;
  const rows = [['service', 'files', 'MiB', 'healthy after', '/readyz', 'SIGTERM exit', 'result']];
  try {
    for (const service of services) {
      try {
        const r = await checkBundle(service, { redis });
        rows.push([
          service,
          String(r.files),
          (r.bytes / 1024 / 1024).toFixed(1),
          `${r.healthMs} ms`,
          String(r.readyz),
          String(r.stopCode),
          'ok',
        ]);
      } catch (e) {
        failed++;
        rows.push([service, '', '', '', '', '', 'FAILED']);
        process.stderr.write(`\n--- ${service} ---\n${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  } finally {
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
  process.exit(failed ? 1 : 0);
}
