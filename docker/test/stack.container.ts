// The deployment path for real, with podman and no image registry: stand-in bases (stand-in-bases.sh),
// the four images built from docker/Dockerfile by docker/build-images.sh, and the dev stack of
// docker/compose.yaml + compose.dev.yaml brought up by Debian's docker-compose against podman's Docker
// API, with the commands of docker/README.md ("Build and run with podman"). A job submitted with the CLI
// from the host must succeed; down / up must keep Redis's data and the environment cache.
// The last pass of scripts/run-tests.mjs (with EDGEFLEET_CONTAINER_TEST=1), run alone: vitest --config docker/test/vitest.container.config.ts
// Everything is bounded and cleaned up: the compose project, its volumes and networks, the podman service.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '@edgefleet/contracts';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT, run } from '../check-bundles.mjs';
import { bundlesSecondsOf, writeImagesPart } from './images-report.js';

const DOCKER = join(ROOT, 'docker');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const PROJECT = `edgefleet-ci-${randomBytes(3).toString('hex')}`;
const PREFIX = 'localhost/edgefleet-ci';
const TAG = 'test';
const SERVICES = ['redis', 'fauxqs', 'job-receiver', 'job-executor', 'result-uploader', 'gossip-membership'];
const NODE_IMAGE =
  /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(DOCKER, 'Dockerfile'), 'utf8'))?.[1] ?? '';
const MIN = 60_000;
/** ELF e_machine values by image architecture. */
const ELF_MACHINE: Record<string, string> = { amd64: '62', arm64: '183' };
/** Run inside an image: counts ELF files by e_machine under the given folders, and lists *.node files. */
const ELF_SCAN = `
const fs = require('node:fs'), path = require('node:path');
const machines = {}, addons = [];
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name);
  if (e.isDirectory()) walk(p);
  else if (e.isFile()) {
    if (p.endsWith('.node')) addons.push(p);
    const fd = fs.openSync(p, 'r'); const b = Buffer.alloc(20); const n = fs.readSync(fd, b, 0, 20, 0); fs.closeSync(fd);
    if (n === 20 && b.readUInt32BE(0) === 0x7f454c46) { const m = b.readUInt16LE(18); machines[m] = (machines[m] || 0) + 1; }
  } } };
for (const d of process.argv.slice(1)) walk(d);
console.log(JSON.stringify({ machines, addons }));`;

const work = mkdtempSync(join(tmpdir(), 'edgefleet-containers-'));
const sock = join(work, 'podman.sock');
const containersConf = join(work, 'containers.conf');
const envFile = join(work, '.env');
const secretsDir = join(work, 'secrets');
const webhookSecret = randomBytes(24).toString('hex');
const apiToken = randomBytes(24).toString('hex');
const ports: Record<string, number> = {};
/** A command's output without podman's own log lines (`time=… level=…`, e.g. no systemd for timers). */
const withoutPodmanLog = (out: string) =>
  out
    .split('\n')
    .filter((l) => !/^time="[^"]*" level=/.test(l))
    .join('\n')
    .trim();
/** Compose overrides for what this machine cannot do (written in beforeAll). */
const overrides: string[] = [];
let service: ChildProcess | undefined;
let healthLoop: NodeJS.Timeout | undefined;
/** The health loop's last failure, reported when a container stays unhealthy. */
let healthLoopError = '';
const images: { image: string; seconds: number; bytes: number }[] = [];
/** The one build of all four bundles (build-images.sh, podman), before the images. */
let bundlesSeconds = Number.NaN;
let basesSeconds = 0;
/** The 1-minute load average when the image builds started (they run at nice 19). */
let buildLoad = 0;

/** podman's environment: the ulimits and init binary this machine needs, without touching /etc. */
const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: containersConf });
const composeEnv = () => ({ ...process.env, DOCKER_HOST: `unix://${sock}`, COMPOSE_HTTP_TIMEOUT: '300' });
const podman = (args: string[], timeoutMs = 2 * MIN) => run('podman', args, { env: podmanEnv(), timeoutMs });
const compose = (args: string[], timeoutMs = 5 * MIN, env = envFile) =>
  run(
    'docker-compose',
    [
      '-f',
      join(DOCKER, 'compose.yaml'),
      '-f',
      join(DOCKER, 'compose.dev.yaml'),
      ...overrides.flatMap((f) => ['-f', f]),
      '--env-file',
      env,
      ...args,
    ],
    { cwd: DOCKER, env: composeEnv(), timeoutMs },
  );
const cli = (args: string[], timeoutMs = 4 * MIN) =>
  run(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    timeoutMs,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.FAUXQS_PORT}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
      EDGEFLEET_API_URL: `http://127.0.0.1:${ports.JOB_API_PORT}`,
      EDGEFLEET_MEMBERS_API_URL: `http://127.0.0.1:${ports.MEMBERSHIP_PORT}`,
      EDGEFLEET_API_TOKEN: apiToken,
    },
  });

/** The compose project's containers: name → { id, health, state, exitCode }. */
async function containers(): Promise<
  Map<string, { id: string; health: string; state: string; exit: number }>
> {
  const r = await podman([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--format',
    '{{.ID}}',
  ]);
  const ids = r.output.split('\n').filter((l) => /^[0-9a-f]{12,}$/.test(l.trim()));
  const out = new Map<string, { id: string; health: string; state: string; exit: number }>();
  // One inspect per container: six containers' JSON together passes run()'s 64 kB output window.
  for (const id of ids) {
    const i = await podman(['inspect', '--type', 'container', id.trim()]);
    if (i.code !== 0) continue; // removed since `ps`
    // podman logs (to stderr, merged here) that it has no systemd for health timers: keep the JSON only.
    const [c] = JSON.parse(i.output.slice(i.output.indexOf('['), i.output.lastIndexOf(']') + 1)) as {
      Id: string;
      Config: { Labels: Record<string, string> };
      State: {
        Status: string;
        ExitCode: number;
        Health?: { Status: string };
        Healthcheck?: { Status: string };
      };
    }[];
    if (!c) continue;
    const name = c.Config.Labels['com.docker.compose.service'] ?? c.Id;
    out.set(name, {
      id: c.Id,
      state: c.State.Status,
      exit: c.State.ExitCode,
      health: c.State.Health?.Status ?? c.State.Healthcheck?.Status ?? '',
    });
  }
  return out;
}

/** podman runs HEALTHCHECKs from systemd timers; without systemd the test runs them (every 3 s). */
function driveHealthchecks() {
  let busy = false;
  healthLoop = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const c of (await containers()).values())
        if (c.state === 'running') {
          const h = await podman(['healthcheck', 'run', c.id], 30_000);
          if (h.code !== 0)
            healthLoopError = `healthcheck run ${c.id.slice(0, 12)}: ${withoutPodmanLog(h.output)}`;
        }
    } catch (e) {
      // The next round retries; allHealthy() reports what stayed unhealthy, and this.
      healthLoopError = (e as Error).message;
    } finally {
      busy = false;
    }
  }, 3000);
}

async function allHealthy(what: string, names: readonly string[] = SERVICES) {
  await eventually(
    async () => {
      const cs = await containers();
      const bad = names.filter((s) => cs.get(s)?.health !== 'healthy');
      if (bad.length)
        throw new Error(
          `not healthy: ${bad.map((s) => `${s}=${cs.get(s)?.state ?? 'missing'}/${cs.get(s)?.health ?? ''}`)}` +
            (healthLoopError ? `; health loop: ${healthLoopError}` : ''),
        );
      return true;
    },
    { timeoutMs: 6 * MIN, intervalMs: 2000, what },
  );
}

/** `docker-compose up -d` returns once dependencies are healthy, which needs the health loop running. */
async function up() {
  const r = await compose(['up', '-d', '--no-build'], 10 * MIN);
  if (r.code !== 0) throw new Error(`docker-compose up failed (${r.code}):\n${r.output}`);
  await allHealthy('every container healthy');
}

function ping(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: sock, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The four images in build-images.sh's output format (`<image> <seconds> <bytes>`, seconds 0), if all exist. */
async function existingImages(): Promise<{ code: number; output: string } | undefined> {
  const names = ['job-receiver', 'result-uploader', 'gossip-membership'].map((n) => `${PREFIX}/${n}:${TAG}`);
  names.push(`${PREFIX}/job-executor:${TAG}-debian`);
  const lines: string[] = [];
  for (const n of names) {
    const r = await podman(['image', 'inspect', '--format', '{{.Size}}', n]);
    if (r.code !== 0) return undefined;
    lines.push(`${n} 0 ${r.output.trim()}`);
  }
  return { code: 0, output: lines.join('\n') };
}

/** VIDEO_GID and RENDER_GID from this host's groups (`getent group video render`), where they exist. */
function hostGroups(): Record<string, string> {
  const out =
    spawnSync('getent', ['group', 'video', 'render'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  const gid = (name: string) => new RegExp(`^${name}:[^:]*:(\\d+):`, 'm').exec(out)?.[1];
  const video = gid('video');
  const render = gid('render');
  return {
    ...(video ? { VIDEO_GID: video } : {}),
    ...(render && render !== video ? { RENDER_GID: render } : {}),
  };
}

/** A SECRETS_DIR with these files (owner/group 999, mode 0440; the folder 0700). */
function writeSecrets(dir: string, files: Record<string, string>) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, value] of Object.entries(files)) {
    const f = join(dir, name);
    writeFileSync(f, `${value}\n`, { mode: 0o440 });
    chownSync(f, 999, 999);
  }
}

/** Leftovers of an interrupted earlier run (projects edgefleet-ci-*), then this run's. */
async function removeProjects(all: boolean) {
  const r = await podman(['ps', '-a', '--format', '{{.ID}} {{index .Labels "com.docker.compose.project"}}']);
  const ids = r.output
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([, p]) => (all ? p?.startsWith('edgefleet-ci-') : p === PROJECT))
    .map(([id]) => id as string);
  if (ids.length) await podman(['rm', '-f', '-t', '5', ...ids]);
  const match = all ? 'edgefleet-ci-' : `${PROJECT}_`;
  const vols = (await podman(['volume', 'ls', '--format', '{{.Name}}'])).output
    .split('\n')
    .filter((v) => v.startsWith(match));
  if (vols.length) await podman(['volume', 'rm', '-f', ...vols]);
  const nets = (await podman(['network', 'ls', '--format', '{{.Name}}'])).output
    .split('\n')
    .filter((n) => n.startsWith(match));
  if (nets.length) await podman(['network', 'rm', '-f', ...nets]);
}

/** A webhook receiver run in the node image: prints each request's headers and body as one JSON line. */
const webhookRecorder = (port: number) =>
  `require('http').createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{console.log(JSON.stringify({headers:q.headers,body:b}));s.statusCode=204;s.end()})}).listen(${port})`;

const submitHello = () =>
  cli(['submit', join(ROOT, 'examples/hello'), '--wait', '--wait-timeout', '240', '--json']);

/** `submit --wait --json` ended SUCCEEDED with exit code 0 and the outputs in S3; resolves to the job id. */
async function expectHelloSucceeded(r: { output: string }): Promise<string> {
  const result = JSON.parse(
    r.output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1) ?? '{}',
  );
  expect(result, r.output).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
  const files = await cli(['results', result.jobId, '--json']);
  expect(files.code, files.output).toBe(0);
  const keys = (
    JSON.parse(files.output.trim().split('\n').at(-1) ?? '{}') as { files: { key: string }[] }
  ).files.map((f) => f.key);
  expect(keys).toEqual(expect.arrayContaining(['manifest.json', 'output/greeting.txt', 'logs/stdout.log']));
  return result.jobId as string;
}

/** The recorder container got exactly one notification of the job, SUCCEEDED, signed with the node's secret. */
async function expectOneSignedNotification(recorder: string, jobId: string) {
  const hooks = await eventually(
    async () => {
      const logs = await podman(['logs', recorder]);
      const mine = logs.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { headers: Record<string, string>; body: string })
        .filter((h) => (JSON.parse(h.body) as { jobId?: string }).jobId === jobId);
      return mine.length ? mine : undefined;
    },
    { timeoutMs: 2 * MIN, what: 'the webhook notification' },
  );
  expect(hooks).toHaveLength(1);
  const hook = hooks[0] as { headers: Record<string, string>; body: string };
  expect(JSON.parse(hook.body)).toMatchObject({ jobId, state: 'SUCCEEDED', node: 'ci-node' });
  const sig = verifyWebhookSignature({
    header: hook.headers[SIGNATURE_HEADER.toLowerCase()] as string,
    body: hook.body,
    secret: webhookSecret,
  });
  expect(sig.ok).toBe(true);
}

beforeAll(async () => {
  writeFileSync(
    containersConf,
    [
      '[containers]',
      // This machine's limits are below podman's defaults, and containers refuse to start without these.
      'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
      // compose `init: true`: Debian's catatonit.
      'init_path = "/usr/bin/catatonit"',
      '',
    ].join('\n'),
  );
  await removeProjects(true);

  let t0 = Date.now();
  // Builds at the lowest CPU priority: on a shared machine the other work keeps its share (no
  // difference when the machine is otherwise idle).
  const bases = await run('nice', ['-n', '19', 'bash', join(DOCKER, 'test/stand-in-bases.sh'), 'amd64'], {
    timeoutMs: 30 * MIN,
  });
  if (bases.code !== 0) throw new Error(`stand-in-bases.sh failed (${bases.code}):\n${bases.output}`);
  basesSeconds = (Date.now() - t0) / 1000;

  t0 = Date.now();
  buildLoad = loadavg()[0] ?? 0;
  // EDGEFLEET_CONTAINER_TEST_REUSE_IMAGES=1 (iterating on the compose part by hand): keep images
  // already built; their build time is then not measured. CI always builds.
  const reuse =
    process.env.EDGEFLEET_CONTAINER_TEST_REUSE_IMAGES === '1' ? await existingImages() : undefined;
  const built =
    reuse ??
    (await run('nice', ['-n', '19', 'bash', join(DOCKER, 'build-images.sh')], {
      cwd: ROOT,
      timeoutMs: 45 * MIN,
      env: {
        ...podmanEnv(),
        ENGINE: 'podman',
        PLATFORM: 'linux/amd64',
        IMAGE_PREFIX: PREFIX,
        IMAGE_TAG: TAG,
        EXECUTOR_BASE: 'debian',
        BUILD_CA: process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt',
      },
    }));
  if (built.code !== 0)
    throw new Error(`build-images.sh failed (${built.code}):\n${built.output.slice(-8000)}`);
  for (const m of built.output.matchAll(/^(\S+) (\d+(?:\.\d+)?) (\d+)$/gm))
    images.push({ image: m[1] as string, seconds: Number(m[2]), bytes: Number(m[3]) });
  bundlesSeconds = bundlesSecondsOf(built.output);
  console.log(
    `stand-in bases ${basesSeconds.toFixed(0)} s; images built in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );

  for (const k of ['JOB_API_PORT', 'MEMBERSHIP_PORT', 'FAUXQS_PORT', 'EDGEFLEET_BIND_PORT'])
    ports[k] = await freePort();
  const settings: Record<string, string> = {
    COMPOSE_PROJECT_NAME: PROJECT,
    IMAGE_PREFIX: PREFIX,
    IMAGE_TAG: TAG,
    EXECUTOR_BASE: 'debian',
    // The host's video and render gids, as the guide says (`getent group video render`). Left unset,
    // RENDER_GID falls back to the name `video`, and podman 4.3 refuses group_add [44, video] when
    // video is 44 (one group twice).
    ...hostGroups(),
    EDGEFLEET_NODE_NAME: 'ci-node',
    SECRETS_DIR: secretsDir,
    AWS_REGION: 'us-east-1',
    // A webhook receiver the test runs on the compose project's network (below).
    EDGEFLEET_WEBHOOK_URL: 'http://webhook-recorder:8080/hook',
    EDGEFLEET_WEBHOOK_SECRET: webhookSecret,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const lines = readFileSync(join(DOCKER, '.env.example'), 'utf8')
    .split('\n')
    .map((l) => {
      const k = /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1];
      return k && k in settings ? `${k}=${settings[k]}` : l;
    });
  writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  // The secret files as docker/README.md "Configure" makes them: folder 0700, files 999:999 0440.
  writeSecrets(secretsDir, { redis_password: randomBytes(24).toString('hex'), api_token: apiToken });

  // What cannot exist here: the NVIDIA runtime (compose.dev.yaml asks for runc; podman may have crun).
  const runtime = (await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'])).output.trim();
  mkdirSync(join(work, 'override'), { recursive: true });
  service = spawn('podman', ['system', 'service', '--time=0', `unix://${sock}`], {
    env: podmanEnv(),
    stdio: 'ignore',
  });
  await eventually(ping, { timeoutMs: MIN, what: 'podman system service answering' });
  if (runtime !== 'runc') throw new Error(`podman's runtime is ${runtime}; compose.dev.yaml asks for runc`);
  // Lowering oom_score_adj needs CAP_SYS_RESOURCE, which a sandboxed CI host may lack (runc then fails
  // to create the container): only there, Redis and gossip keep the default score.
  const lower = spawnSync('sh', ['-c', 'echo -1 > /proc/self/oom_score_adj'], { timeout: 5000 });
  if (lower.status !== 0) {
    const file = join(work, 'override', 'oom.yaml');
    writeFileSync(
      file,
      'services:\n  redis:\n    oom_score_adj: 0\n  gossip-membership:\n    oom_score_adj: 0\n',
    );
    overrides.push(file);
  }
  driveHealthchecks();
}, 90 * MIN);

afterAll(async () => {
  if (healthLoop) clearInterval(healthLoop);
  try {
    await compose(['down', '-v', '-t', '20'], 3 * MIN);
    // One at a time: podman 4.3 stops at the first name it does not find (the first is gone by then).
    for (const recorder of [`${PROJECT}-webhook`, `${PROJECT}-webhook-host`])
      await podman(['rm', '-f', '-t', '2', recorder]);
    await removeProjects(false);
  } finally {
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service?.once('exit', r));
      service.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (service.exitCode === null) service.kill('SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  }
  // The linux/amd64 part of the benchmark report's images section (images-report.ts).
  if (images.length && images.every((i) => i.seconds > 0)) {
    writeImagesPart({
      platform: 'linux/amd64',
      intro:
        'Each image built from docker/Dockerfile by `docker/build-images.sh` with podman (`--format docker`, ' +
        '`--platform linux/amd64`), one after the other, on the stand-in bases of docker/test/stand-in-bases.sh ' +
        `(${NODE_IMAGE}: Debian bookworm minbase + Node ${readFileSync(join(ROOT, '.node-version'), 'utf8').trim()}). ` +
        'The four bundles are built first, once (target `bundles`: pnpm fetch, install, build, one ' +
        '`deploy-bundle.sh` per service), and each image then assembles its bundle on its runtime base. ' +
        'Size: `podman image inspect .Size`, uncompressed, base layers included.',
      table: {
        title: 'linux/amd64',
        header: ['image', 'build s', 'size MB'],
        rows: images.map((i) => [
          i.image.replace(`${PREFIX}/`, ''),
          i.seconds.toFixed(0),
          (i.bytes / 1e6).toFixed(0),
        ]),
      },
      notes: [
        `Stand-in bases (cached in /var/cache/edgefleet-ci when present): ${basesSeconds.toFixed(0)} s. ` +
          `The four bundles, before the images: ${bundlesSeconds.toFixed(0)} s.`,
        `The builds run at nice 19; the load average was ${buildLoad.toFixed(1)} when they started. ` +
          'A build whose layers podman already holds (an unchanged source tree) takes seconds: these ' +
          'times are those of the run that wrote this section.',
      ],
    });
  }
}, 5 * MIN);

describe('a node in containers (podman, docker-compose)', { timeout: 20 * MIN }, () => {
  let jobId = '';
  let envsBefore = '';

  it('builds every image: HEALTHCHECK kept, non-root user, no CA bundle left in any layer', async () => {
    expect(images.map((i) => i.image).sort()).toEqual(
      [
        `${PREFIX}/gossip-membership:${TAG}`,
        `${PREFIX}/job-executor:${TAG}-debian`,
        `${PREFIX}/job-receiver:${TAG}`,
        `${PREFIX}/result-uploader:${TAG}`,
      ].sort(),
    );
    for (const { image } of images) {
      const i = await podman(['image', 'inspect', image]);
      const [inspected] = JSON.parse(
        i.output.slice(i.output.indexOf('['), i.output.lastIndexOf(']') + 1),
      ) as {
        Healthcheck?: { Test: string[] };
        Config: { Healthcheck?: { Test: string[] }; User?: string };
      }[];
      const config = inspected?.Config ?? {};
      // podman shows the Docker-format HEALTHCHECK beside Config.
      expect((inspected?.Healthcheck ?? config.Healthcheck)?.Test, image).toEqual([
        'CMD',
        'node',
        '/app/healthcheck.mjs',
      ]);
      expect(config.User, image).toBe('edgefleet');
      // The build secret is mounted for one RUN only.
      const ls = await podman([
        'run',
        '--rm',
        '--entrypoint',
        'sh',
        image,
        '-c',
        'ls /run/secrets 2>&1; node --version',
      ]);
      expect(ls.output, image).not.toMatch(/\bca\b/);
      expect(ls.output, image).toMatch(/^v24\./m);
      // Every ELF file of the bundle and the node binary is of the image's architecture, and the
      // bundle has no native addon (*.node) at all.
      const arch = (await podman(['image', 'inspect', '--format', '{{.Architecture}}', image])).output.trim();
      // As root: the scan reads every file, some of which the service user may not (pnpm's state).
      const elf = await podman([
        'run',
        '--rm',
        '--user',
        '0',
        '--entrypoint',
        'node',
        image,
        '-e',
        ELF_SCAN,
        '/app',
        '/usr/local/bin',
      ]);
      expect(elf.code, elf.output).toBe(0);
      const scan = JSON.parse(elf.output.trim().split('\n').at(-1) ?? '{}') as {
        machines: Record<string, number>;
        addons: string[];
      };
      expect(scan.addons, image).toEqual([]);
      expect(Object.keys(scan.machines), image).toEqual([ELF_MACHINE[arch]]);
    }
    expect(NODE_IMAGE).toBe('node:24-bookworm-slim');
  });

  it('an image given the placeholder secret of .env.example exits 2 naming the variable', async () => {
    const r = await podman([
      'run',
      '--rm',
      '-e',
      'EDGEFLEET_API_TOKEN=change-me-to-openssl-rand-hex-32',
      '-e',
      'EDGEFLEET_NODE_NAME=x',
      '-e',
      'EDGEFLEET_QUEUE_URLS=http://127.0.0.1:9/000000000000/q',
      '-e',
      'AWS_REGION=us-east-1',
      `${PREFIX}/job-receiver:${TAG}`,
    ]);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toContain('EDGEFLEET_API_TOKEN');
    expect(r.output).not.toContain('change-me-to-openssl-rand-hex-32');
  });

  it('an image started without Redis is alive but not ready, saying why (/readyz: redis false)', async () => {
    const name = `${PROJECT}-noredis`;
    const r = await podman([
      'run',
      '-d',
      '--name',
      name,
      '-e',
      'EDGEFLEET_REDIS_URL=redis://127.0.0.1:1',
      '-e',
      'EDGEFLEET_NODE_NAME=x',
      '-e',
      'EDGEFLEET_QUEUE_URLS=http://127.0.0.1:9/000000000000/q',
      '-e',
      'AWS_REGION=us-east-1',
      '-e',
      `EDGEFLEET_API_TOKEN=${apiToken}`,
      `${PREFIX}/job-receiver:${TAG}`,
    ]);
    expect(r.code, r.output).toBe(0);
    try {
      const get = (path: string) =>
        podman([
          'exec',
          name,
          'node',
          '-e',
          `fetch('http://127.0.0.1:4100${path}').then(async (r) => console.log(r.status, await r.text()), (e) => { console.log('down', e.message); process.exit(1) })`,
        ]);
      const ready = await eventually(
        async () => {
          const o = await get('/readyz');
          return o.code === 0 ? o.output : undefined;
        },
        { timeoutMs: MIN, intervalMs: 1000, what: '/readyz answering' },
      );
      expect(ready).toMatch(/^503 /);
      expect(JSON.parse(ready.slice(4))).toMatchObject({ status: 'not-ready', checks: { redis: false } });
      expect((await get('/healthz')).output).toMatch(/^200 /);
    } finally {
      await podman(['rm', '-f', '-t', '2', name]);
    }
  });

  it('docker-compose run with a placeholder secret (a secret file, or .env): the service exits 2 naming the variable', async () => {
    const placeholder = 'change-me-to-openssl-rand-hex-32';
    const badSecrets = join(work, 'bad-secrets');
    writeSecrets(badSecrets, { redis_password: randomBytes(24).toString('hex'), api_token: placeholder });
    const badEnv = join(work, 'bad.env');
    writeFileSync(
      badEnv,
      readFileSync(envFile, 'utf8')
        .replace(/^SECRETS_DIR=.*$/m, `SECRETS_DIR=${badSecrets}`)
        .replace(/^EDGEFLEET_WEBHOOK_SECRET=.*$/m, `EDGEFLEET_WEBHOOK_SECRET=${placeholder}`),
      { mode: 0o600 },
    );
    for (const [service, variable] of [
      ['job-receiver', 'EDGEFLEET_API_TOKEN'],
      ['result-uploader', 'EDGEFLEET_WEBHOOK_SECRET'],
    ] as const) {
      const r = await compose(['run', '--rm', '--no-deps', '-T', service], 3 * MIN, badEnv);
      expect(r.code, `${service}: ${r.output}`).toBe(2);
      expect(r.output, service).toContain(variable);
      expect(r.output, service).not.toContain(placeholder);
    }
  });

  it('docker-compose up: every container of compose.yaml + compose.dev.yaml becomes healthy', async () => {
    // The webhook receiver the uploader notifies: a recorder on the project's `services` network.
    const net = await compose(['up', '--no-start'], 5 * MIN);
    expect(net.code, net.output).toBe(0);
    const recorder = await podman([
      'run',
      '-d',
      '--name',
      `${PROJECT}-webhook`,
      '--network',
      `${PROJECT}_services`,
      '--network-alias',
      'webhook-recorder',
      '--entrypoint',
      'node',
      NODE_IMAGE,
      '-e',
      webhookRecorder(8080),
    ]);
    expect(recorder.code, recorder.output).toBe(0);
    // The recorder has a private address: the uploader calls it only once its network is listed
    // (.env, as an operator would; `up` then recreates the uploader with it).
    const subnet = withoutPodmanLog(
      (
        await podman([
          'network',
          'inspect',
          `${PROJECT}_services`,
          '--format',
          '{{range .Subnets}}{{.Subnet}} {{end}}',
        ])
      ).output,
    ).split(' ')[0];
    expect(subnet).toMatch(/^[0-9.]+\/\d+$/);
    writeFileSync(
      envFile,
      readFileSync(envFile, 'utf8').replace(
        /^EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES=.*$/m,
        `EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES=${subnet}`,
      ),
      { mode: 0o600 },
    );
    await up();
    const cs = await containers();
    expect([...cs.keys()].sort()).toEqual([...SERVICES].sort());
  });

  it('a job submitted with the CLI from the host: SUCCEEDED, outputs in S3, one signed notification', async () => {
    const r = await submitHello();
    jobId = await expectHelloSucceeded(r);
    await expectOneSignedNotification(`${PROJECT}-webhook`, jobId);
    const cs = await containers();
    const envs = await podman(['exec', cs.get('job-executor')?.id ?? '', 'ls', '/var/lib/edgefleet/envs']);
    envsBefore = withoutPodmanLog(envs.output);
    expect(envsBefore).not.toBe('');
  });

  it('upgrade steps: edgefleet drain in the executor container, then stop / down: every service exits 0 on SIGTERM; volumes stay', async () => {
    // docker/README.md "Upgrade": the executor takes no more jobs (none runs now: nothing to hand back).
    const drain = await compose([
      'exec',
      '-T',
      'job-executor',
      'edgefleet',
      'drain',
      '--wait',
      '60',
      '--json',
    ]);
    expect(drain.code, drain.output).toBe(0);
    expect(JSON.parse(withoutPodmanLog(drain.output).split('\n').at(-1) ?? '{}')).toEqual({
      draining: true,
      finished: [],
      handedBack: [],
    });
    const stop = await compose(['stop'], 3 * MIN);
    expect(stop.code, stop.output).toBe(0);
    const cs = await containers();
    for (const s of SERVICES.filter((n) => n !== 'fauxqs')) {
      expect(cs.get(s)?.state, s).toBe('exited');
      expect(cs.get(s)?.exit, s).toBe(0);
    }
    // The test's own webhook recorder sits on the project's network, which `down` removes: it goes first.
    await podman(['rm', '-f', '-t', '2', `${PROJECT}-webhook`]);
    const down = await compose(['down'], 3 * MIN);
    expect(down.code, down.output).toBe(0);
    expect((await containers()).size).toBe(0);
    const vols = (await podman(['volume', 'ls', '--format', '{{.Name}}'])).output;
    for (const v of ['edgefleet-redis', 'edgefleet-data', 'edgefleet-jobs'])
      expect(vols).toContain(`${PROJECT}_${v}`);
  });

  it('up again: the job is still in Redis and the environment cache is still there', async () => {
    await up();
    const job = await cli(['job', jobId, '--json']);
    expect(job.code, job.output).toBe(0);
    expect(job.output).toContain('SUCCEEDED');
    const cs = await containers();
    const envs = await podman(['exec', cs.get('job-executor')?.id ?? '', 'ls', '/var/lib/edgefleet/envs']);
    expect(withoutPodmanLog(envs.output)).toBe(envsBefore);
  });

  it('profile single on the same volumes: one container runs `edgefleet node`; the earlier job is there, a new one SUCCEEDED with one signed notification; stop exits 0', async () => {
    // Never beside the four services (docker/README.md): they go first, their volumes stay.
    const down = await compose(['down'], 3 * MIN);
    expect(down.code, down.output).toBe(0);
    // The node is on the host's network, so its webhook receiver is too (on a free loopback port,
    // listed as an allowed address as an operator would).
    const hookPort = await freePort();
    const recorder = await podman([
      'run',
      '-d',
      '--name',
      `${PROJECT}-webhook-host`,
      '--network',
      'host',
      '--entrypoint',
      'node',
      NODE_IMAGE,
      '-e',
      webhookRecorder(hookPort),
    ]);
    expect(recorder.code, recorder.output).toBe(0);
    const singleEnv = join(work, '.env.single');
    writeFileSync(
      singleEnv,
      readFileSync(envFile, 'utf8')
        .replace(/^EDGEFLEET_WEBHOOK_URL=.*$/m, `EDGEFLEET_WEBHOOK_URL=http://127.0.0.1:${hookPort}/hook`)
        .replace(
          /^EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES=.*$/m,
          'EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES=127.0.0.1/32',
        ),
      { mode: 0o600 },
    );
    const single = ['redis', 'fauxqs', 'edgefleet-node'];
    const up = await compose(
      ['--profile', 'single', 'up', '-d', '--no-build', ...single],
      10 * MIN,
      singleEnv,
    );
    expect(up.code, up.output).toBe(0);
    await allHealthy('the single-process node healthy', single);
    expect([...(await containers()).keys()].sort()).toEqual([...single].sort());

    const before = await cli(['job', jobId, '--json']);
    expect(before.code, before.output).toBe(0);
    expect(before.output).toContain('SUCCEEDED');
    const members = await cli(['members', '--json']);
    expect(members.code, members.output).toBe(0);
    expect(
      JSON.parse(
        members.output
          .split('\n')
          .filter((l) => l.startsWith('['))
          .at(-1) ?? '[]',
      ),
    ).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ci-node', state: 'alive' })]));
    const next = await expectHelloSucceeded(await submitHello());
    expect(next).not.toBe(jobId);
    await expectOneSignedNotification(`${PROJECT}-webhook-host`, next);

    const stop = await compose(['--profile', 'single', 'stop', 'edgefleet-node'], 3 * MIN, singleEnv);
    expect(stop.code, stop.output).toBe(0);
    const node = (await containers()).get('edgefleet-node');
    expect(node?.state).toBe('exited');
    expect(node?.exit).toBe(0);
    const rm = await podman(['rm', '-f', '-t', '2', `${PROJECT}-webhook-host`]);
    expect(rm.code, rm.output).toBe(0);
  });
});
