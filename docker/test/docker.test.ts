// docker/ checked without a Docker engine: the compose files validate (Debian's docker-compose) and
// say what the deployment promises, the Dockerfile lints clean, and each image's exact bundle starts
// standalone and passes its own HEALTHCHECK (check-bundles.mjs). Runs from the repo root after
// `pnpm build` (the test command builds first). Everything is bounded: ~30 s on an idle machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINGLE_PROCESS_NODE_ARGS } from '../../packages/cli/src/local/services.js';
import { GOSSIP_NODE_ARGS } from '../../services/gossip-membership/src/node-args.js';
import {
  type BundleReport,
  checkBundle,
  freePort,
  type RedisChild,
  ROOT,
  SERVICES,
  startRedis,
} from '../check-bundles.mjs';
import { lintDockerfile } from '../lint.mjs';

const DOCKER = join(ROOT, 'docker');
const ENV_EXAMPLE = join(DOCKER, '.env.example');
const BASE = join(DOCKER, 'compose.yaml');
const DEV = join(DOCKER, 'compose.dev.yaml');
const SERVICE_NAMES = Object.keys(SERVICES);
const EXECUTOR_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID'];

interface ComposeService {
  image?: string;
  build?: { target?: string; args?: Record<string, string> };
  command?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  network_mode?: string;
  networks?: Record<string, unknown> | string[];
  runtime?: string;
  user?: string;
  cap_add?: string[];
  cap_drop?: string[];
  volumes?: (string | { source?: string; target: string })[];
  ports?: (string | { target: number; published?: number | string })[];
  mem_limit?: string | number;
  cpus?: string | number;
  healthcheck?: { test: string[] | string };
  secrets?: (string | { source: string })[];
  group_add?: (string | number)[];
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

/** `docker-compose … config` (validates and resolves), parsed with the YAML library it runs on. */
function composeConfig(
  files: string[],
  envFile = ENV_EXAMPLE,
): { ok: boolean; config?: ComposeConfig; output: string } {
  const r = spawnSync(
    'docker-compose',
    [...files.flatMap((f) => ['-f', f]), '--env-file', envFile, 'config'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (r.error)
    throw new Error(
      `docker-compose could not run (scripts/install-system-deps.sh installs it): ${r.error.message}`,
    );
  if (r.status !== 0) return { ok: false, output: `${r.stdout}${r.stderr}` };
  // docker-compose is Python and ships with PyYAML: use that interpreter to turn its YAML into JSON.
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const j = spawnSync(
    python,
    ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    {
      input: r.stdout,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (j.status !== 0) throw new Error(`could not parse docker-compose's output: ${j.stderr}`);
  return { ok: true, config: JSON.parse(j.stdout) as ComposeConfig, output: r.stderr };
}

const mountTargets = (s: ComposeService) =>
  (s.volumes ?? []).map((v) => (typeof v === 'string' ? (v.split(':')[1] ?? '') : v.target));
const mountSources = (s: ComposeService) =>
  (s.volumes ?? []).map((v) => (typeof v === 'string' ? (v.split(':')[0] ?? '') : (v.source ?? '')));
const secretNames = (s: ComposeService) =>
  (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source)).sort();
const commandText = (s: ComposeService) =>
  Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');

/** Variables the compose files interpolate (`${NAME…}`; `$${…}` is a literal for the container's shell). */
function composeVariables(): Set<string> {
  const names = new Set<string>();
  for (const file of [BASE, DEV]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g))
      names.add(m[1] as string);
  }
  return names;
}

/** .env.example entries: set (`NAME=…`) and documented-but-planned (`# NAME=`). */
function envExample(): { set: Set<string>; planned: Set<string> } {
  const set = new Set<string>();
  const planned = new Set<string>();
  for (const line of readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const active = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    if (active) set.add(active[1] as string);
    const commented = /^#\s?([A-Z][A-Z0-9_]*)=\S*$/.exec(line);
    if (commented) planned.add(commented[1] as string);
  }
  return { set, planned };
}

describe('compose files (docker-compose config)', () => {
  let base: ComposeConfig;

  beforeAll(() => {
    const r = composeConfig([BASE]);
    if (!r.ok || !r.config) throw new Error(`compose.yaml does not validate:\n${r.output}`);
    base = r.config;
  });

  it('compose.yaml: Redis 7 with a password and AOF (appendfsync always) on a volume, health-checked', () => {
    const redis = base.services.redis as ComposeService;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = commandText(redis);
    expect(cmd).toMatch(/appendonly yes/);
    expect(cmd).toMatch(/appendfsync always/);
    expect(cmd).toMatch(/requirepass/);
    // The password from the secret file, never from the environment.
    expect(secretNames(redis)).toEqual(['redis_password']);
    expect(JSON.stringify(redis.environment ?? {})).not.toMatch(/PASSWORD/);
    expect(cmd).toContain('/run/secrets/redis_password');
    expect(mountTargets(redis)).toContain('/data');
    expect(redis.healthcheck?.test).toBeTruthy();
    // No TCP at all: reached over its Unix socket only, on a volume; no network, no published port.
    expect(cmd).toMatch(/^\s*port 0$/m);
    expect(cmd).toMatch(/^\s*unixsocket \/run\/edgefleet-redis\/redis\.sock$/m);
    expect(cmd).toMatch(/^\s*unixsocketperm 770$/m);
    expect(redis.ports ?? []).toEqual([]);
    expect(redis.network_mode).toBe('none');
    expect(mountTargets(redis)).toContain('/run/edgefleet-redis');
  });

  it("compose.yaml: Redis's start script writes a working config (run here with the local redis-server)", async () => {
    const redis = base.services.redis as ComposeService;
    const script = commandText(redis).replaceAll('$$', '$');
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-redis-script-'));
    // The container's paths become temporary folders; a free loopback port instead of 6379.
    const secret = join(dir, 'redis_password');
    writeFileSync(secret, 'local-redis-password-0123456789\n');
    const local = script
      .replaceAll('/run/secrets/redis_password', secret)
      .replaceAll('/run/edgefleet-redis', dir)
      .replaceAll('/run/redis', dir)
      .replace('dir /data', `dir ${dir}`)
      .replace(/exec redis-server (\S+)/, `exec redis-server $1 --port ${port} --bind 127.0.0.1`);
    const env = { PATH: process.env.PATH ?? '', ...(redis.environment as Record<string, string>) };
    const cli = (...args: string[]) =>
      spawnSync('redis-cli', ['-p', String(port), ...args], {
        encoding: 'utf8',
        timeout: 5000,
        env: { PATH: env.PATH, REDISCLI_AUTH: 'local-redis-password-0123456789' },
      }).stdout.trim();
    const child = spawn('sh', ['-ec', local], { env, stdio: 'ignore' });
    try {
      const deadline = Date.now() + 10_000;
      while (cli('ping') !== 'PONG' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(cli('ping')).toBe('PONG');
      expect(cli('config', 'get', 'appendonly')).toBe('appendonly\nyes');
      expect(cli('config', 'get', 'appendfsync')).toBe('appendfsync\nalways');
      expect(cli('config', 'get', 'maxmemory-policy')).toBe('maxmemory-policy\nnoeviction');
      // Compact job records and finished log tails (docker/README.md, "What has to fit in maxmemory").
      expect(cli('config', 'get', 'hash-max-listpack-value')).toBe('hash-max-listpack-value\n1024');
      expect(cli('config', 'get', 'stream-node-max-bytes')).toBe('stream-node-max-bytes\n1024');
      // The socket the services use, group-accessible only (unixsocketperm 770).
      expect(cli('config', 'get', 'unixsocketperm')).toBe('unixsocketperm\n770');
      expect(statSync(join(dir, 'redis.sock')).mode & 0o777).toBe(0o770);
      // Without the password: refused.
      const anon = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5000 });
      expect(anon.stdout).toMatch(/NOAUTH/);
    } finally {
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
    // A password the config syntax could misread, a placeholder, an empty file: refused before Redis
    // starts (exit 2, naming the setting).
    for (const [content, why] of [
      ['a"b', /use only letters/],
      ['change-me-to-openssl-rand-hex-32', /placeholder/],
      ['', /empty/],
    ] as const) {
      const bdir = mkdtempSync(join(tmpdir(), 'edgefleet-redis-script-'));
      try {
        const f = join(bdir, 'redis_password');
        writeFileSync(f, content);
        const bad = spawnSync(
          'sh',
          ['-ec', script.replaceAll('/run/secrets/redis_password', f).replaceAll('/run/redis', bdir)],
          { env, encoding: 'utf8', timeout: 5000 },
        );
        expect(bad.status, content).toBe(2);
        expect(bad.stderr, content).toContain('EDGEFLEET_REDIS_PASSWORD');
        expect(bad.stderr, content).toMatch(why);
      } finally {
        rmSync(bdir, { recursive: true, force: true });
      }
    }
  });

  it('compose.yaml: the four services start after a healthy Redis, restart, and have limits', () => {
    for (const name of SERVICE_NAMES) {
      const s = base.services[name] as ComposeService;
      expect(s, name).toBeDefined();
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.depends_on?.redis?.condition, name).toBe('service_healthy');
      expect(s.mem_limit, name).toBeTruthy();
      expect(s.cpus, name).toBeTruthy();
      expect(s.build?.args?.SERVICE, name).toBe(name);
      // The PORT build argument is the one check-bundles.mjs verifies against the bundle's default.
      expect(Number(s.build?.args?.PORT), name).toBe(SERVICES[name]?.port);
      // Secrets as files (compose `secrets:`), named by *_FILE variables; no secret value in compose.
      expect(secretNames(s), name).toEqual(['api_token', 'redis_password']);
      expect(s.environment?.EDGEFLEET_REDIS_PASSWORD_FILE, name).toBe('/run/secrets/redis_password');
      expect(s.environment?.EDGEFLEET_API_TOKEN_FILE, name).toBe('/run/secrets/api_token');
      expect(s.environment?.EDGEFLEET_REDIS_PASSWORD, name).toBeUndefined();
      expect(s.environment?.EDGEFLEET_API_TOKEN, name).toBeUndefined();
      expect(s.environment?.EDGEFLEET_NODE_NAME, name).toBeTruthy();
      // The image's own non-root user, except the executor and the uploader (next tests).
      if (name === 'job-receiver' || name === 'gossip-membership') expect(s.user, name).toBeUndefined();
      expect(s.cap_drop, name).toEqual(['ALL']);
    }
    // Membership waits for Redis only: the device stays visible while another service is failing.
    expect(Object.keys(base.services['gossip-membership']?.depends_on ?? {})).toEqual(['redis']);
  });

  it('compose.yaml: host network for gossip, the NVIDIA runtime and job volumes for the executor', () => {
    const gossip = base.services['gossip-membership'] as ComposeService;
    const executor = base.services['job-executor'] as ComposeService;
    const uploader = base.services['result-uploader'] as ComposeService;
    expect(gossip.network_mode).toBe('host');
    // Started with the gossip program's node flags (no JIT among them), as local mode starts it: on its
    // command line, never in NODE_OPTIONS, which the HEALTHCHECK (Node's fetch, which needs WebAssembly)
    // would inherit.
    expect((gossip as { entrypoint?: string[] }).entrypoint).toEqual([
      'node',
      ...GOSSIP_NODE_ARGS,
      '/app/dist/main.js',
    ]);
    expect(gossip.environment?.NODE_OPTIONS).toBeUndefined();
    // Every service reaches Redis over the socket on the shared volume, gossip (host network) too;
    // those running as uid 10001 through the socket's group.
    for (const name of SERVICE_NAMES) {
      const s = base.services[name] as ComposeService & { group_add?: (string | number)[] };
      expect(s.environment?.EDGEFLEET_REDIS_URL, name).toBe('unix:///run/edgefleet-redis/redis.sock');
      expect(mountTargets(s), name).toContain('/run/edgefleet-redis');
      // Read-only for every client: nothing there but Redis's socket.
      const mount = (s.volumes ?? []).find((v) =>
        typeof v === 'string'
          ? v.split(':')[1] === '/run/edgefleet-redis'
          : v.target === '/run/edgefleet-redis',
      );
      expect(
        typeof mount === 'string' ? mount.endsWith(':ro') : (mount as { read_only?: boolean }).read_only,
        name,
      ).toBe(true);
      if (s.user === undefined) expect((s.group_add ?? []).map(String), name).toContain('999');
      else expect(s.cap_add, name).toContain('DAC_OVERRIDE');
    }
    // Never the executor: job code must not inherit a way to Redis.
    expect(((executor as { group_add?: unknown[] }).group_add ?? []).map(String)).not.toContain('999');
    expect(executor.runtime).toBe('nvidia');
    expect(executor.build?.target).toBe('job-executor');
    // Root with only the capabilities needed to run jobs as edgefleet-job (docker/README.md).
    expect(executor.user).toBe('0:0');
    expect(executor.cap_drop).toEqual(['ALL']);
    expect([...(executor.cap_add ?? [])].sort()).toEqual(EXECUTOR_CAPS);
    expect(mountTargets(executor)).toEqual(
      expect.arrayContaining(['/var/lib/edgefleet', '/var/lib/edgefleet/jobs']),
    );
    // The uploader sees the job folders at the same path (it checks jobDir = <dataDir>/jobs/<jobId>).
    const jobsVolume = mountSources(executor)[mountTargets(executor).indexOf('/var/lib/edgefleet/jobs')];
    expect(mountSources(uploader)[mountTargets(uploader).indexOf('/var/lib/edgefleet/jobs')]).toBe(
      jobsVolume,
    );
    expect(executor.environment?.EDGEFLEET_DATA_DIR).toBe(uploader.environment?.EDGEFLEET_DATA_DIR);
    // Reads and deletes files of two owners in job folders: root with DAC_OVERRIDE only.
    expect(uploader.user).toBe('0:0');
    expect(uploader.cap_add).toEqual(['DAC_OVERRIDE']);
    // Job code shares the executor's network: keep it off the network of the job API and uploader.
    const nets = (s: ComposeService) =>
      Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
    expect(nets(executor)).toEqual(['jobs']);
    expect(nets(base.services['job-receiver'] as ComposeService)).not.toContain('jobs');
  });

  it('compose.yaml refuses to start without the folder of the secret files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-compose-'));
    try {
      const env = join(dir, '.env');
      writeFileSync(
        env,
        readFileSync(ENV_EXAMPLE, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('SECRETS_DIR='))
          .join('\n'),
      );
      const r = composeConfig([BASE], env);
      expect(r.ok).toBe(false);
      expect(r.output).toContain('set SECRETS_DIR in docker/.env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compose.yaml refuses to start without IMAGE_PREFIX (no default registry path)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-compose-'));
    try {
      const env = join(dir, '.env');
      writeFileSync(
        env,
        readFileSync(ENV_EXAMPLE, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('IMAGE_PREFIX='))
          .join('\n'),
      );
      const r = composeConfig([BASE], env);
      expect(r.ok).toBe(false);
      expect(r.output).toContain('set IMAGE_PREFIX in docker/.env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compose.yaml: images pulled only when missing, L4T-specific executor tag, OOM priorities', () => {
    // docker-compose 1.29 validates pull_policy but leaves it out of `config`: read the file itself.
    const text = readFileSync(BASE, 'utf8');
    expect(text.match(/^ {4}pull_policy: if_not_present$/gm)).toHaveLength(6);
    for (const name of SERVICE_NAMES)
      expect(base.services[name]?.image, name).toMatch(/^registry\.example\.com\/edgefleet\//);
    expect(base.services['job-executor']?.image).toMatch(/:latest-l4t-r36\.4$/);
    const oom = (s: string) =>
      (base.services[s] as ComposeService & { oom_score_adj?: number }).oom_score_adj;
    expect(oom('redis')).toBeLessThan(oom('gossip-membership') ?? 0);
    expect(oom('gossip-membership')).toBeLessThan(0);
    expect(oom('job-executor')).toBeGreaterThan(0);
  });

  it("compose.yaml: the single-process node is its own profile, the executor's image running `edgefleet node` with the executor's rights", () => {
    const node = base.services['edgefleet-node'] as ComposeService & {
      profiles?: string[];
      entrypoint?: string[];
      cap_add?: string[];
      runtime?: string;
    };
    const executor = base.services['job-executor'] as ComposeService & { cap_add?: string[] };
    expect(node.profiles).toEqual(['single']);
    // Only in its profile: the four services have none, so plain `up` never starts both.
    for (const name of SERVICE_NAMES)
      expect((base.services[name] as { profiles?: string[] }).profiles, name).toBeUndefined();
    expect(node.image).toBe(executor.image);
    expect(node.entrypoint?.slice(-2)).toEqual(['/opt/edgefleet-cli/dist/main.js', 'node']);
    // Local mode's flags for it (the JIT on: the job services in the same process need it).
    expect(node.entrypoint?.slice(0, -2)).toEqual(['node', ...SINGLE_PROCESS_NODE_ARGS]);
    expect(node.user).toBe(executor.user);
    expect(node.cap_drop).toEqual(['ALL']);
    expect([...(node.cap_add ?? [])].sort()).toEqual([...(executor.cap_add ?? [])].sort());
    expect(node.network_mode).toBe('host');
    expect(secretNames(node)).toEqual(['api_token', 'redis_password']);
    expect(node.environment?.EDGEFLEET_REDIS_PASSWORD_FILE).toBe('/run/secrets/redis_password');
    // Each service on the port and address it has in the four-container node.
    expect(node.environment?.EDGEFLEET_HTTP_HOST).toBe('127.0.0.1');
    expect(node.environment?.EDGEFLEET_RECEIVER__PORT).toBe('4100');
    expect(node.environment?.EDGEFLEET_GOSSIP__PORT).toBe('4001');
    expect(node.environment?.EDGEFLEET_GOSSIP__HTTP_HOST).toBe('0.0.0.0');
    for (const target of ['/var/lib/edgefleet', '/var/lib/edgefleet/jobs', '/run/edgefleet-redis'])
      expect(mountTargets(node)).toContain(target);
  });

  it('compose.yaml: Redis leaves room for an AOF rewrite (mem_limit >= 2 x maxmemory + 16 MB)', () => {
    const redis = base.services.redis as ComposeService;
    const mb = (v: string | number | undefined) => {
      const m = /^(\d+)\s*(mb|m)?$/i.exec(String(v ?? ''));
      if (!m) throw new Error(`cannot read a size from ${v}`);
      return m[2] ? Number(m[1]) : Number(m[1]) / 1024 / 1024;
    };
    const max = mb(redis.environment?.REDIS_MAXMEMORY ?? undefined);
    expect(mb(redis.mem_limit)).toBeGreaterThanOrEqual(2 * max + 16);
  });

  it('compose.yaml: only the job API is published (on loopback)', () => {
    const published = Object.entries(base.services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([n]) => n)
      .sort();
    expect(published).toEqual(['job-receiver']);
    for (const name of published)
      expect(JSON.stringify(base.services[name]?.ports), name).toContain('127.0.0.1');
  });

  it('compose.yaml + compose.dev.yaml: fauxqs 1.9.2 with its init config, services wired to it', () => {
    const r = composeConfig([BASE, DEV]);
    if (!r.ok || !r.config) throw new Error(`compose.yaml + compose.dev.yaml do not validate:\n${r.output}`);
    const dev = r.config;
    const fauxqs = dev.services.fauxqs as ComposeService;
    expect(fauxqs.image).toBe('kibertoad/fauxqs:1.9.2');
    expect(JSON.stringify(fauxqs.ports)).toContain('4566');
    expect(fauxqs.environment?.FAUXQS_INIT).toBe('/app/init.json');
    expect(mountTargets(fauxqs)).toContain('/app/init.json');
    const init = JSON.parse(readFileSync(join(DOCKER, 'fauxqs-init.json'), 'utf8')) as {
      queues: { name: string }[];
      buckets: string[];
    };
    for (const name of ['job-receiver', 'job-executor', 'result-uploader']) {
      const s = dev.services[name] as ComposeService;
      expect(s.environment?.AWS_ENDPOINT_URL, name).toBe('http://fauxqs:4566');
      expect(s.depends_on?.fauxqs?.condition, name).toBe('service_healthy');
    }
    const queueUrl = dev.services['job-receiver']?.environment?.EDGEFLEET_QUEUE_URLS ?? '';
    expect(init.queues.map((q) => q.name)).toContain(queueUrl.split('/').at(-1));
    const outputs = dev.services['result-uploader']?.environment?.EDGEFLEET_OUTPUT_BUCKETS ?? '';
    for (const b of outputs.split(',')) expect(init.buckets).toContain(b);
    expect(dev.services['job-executor']?.runtime).toBe('runc');
    expect(dev.services['job-executor']?.build?.args?.EXECUTOR_BASE).toBe('debian');
  });

  it('compose.yaml + compose.dev.yaml: the single-process node runs on the CPU image and reaches fauxqs on the host (its network)', () => {
    const r = composeConfig([BASE, DEV]);
    if (!r.ok || !r.config) throw new Error(`compose.yaml + compose.dev.yaml do not validate:\n${r.output}`);
    const node = r.config.services['edgefleet-node'] as ComposeService & { profiles?: string[] };
    const executor = r.config.services['job-executor'] as ComposeService;
    expect(node.profiles).toEqual(['single']);
    expect(node.image).toBe(executor.image);
    expect(node.runtime).toBe('runc');
    expect(node.network_mode).toBe('host');
    // The emulator as published on the host (FAUXQS_PORT of .env.example), not by its network name.
    expect(node.environment?.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:4566');
    expect(node.depends_on?.fauxqs?.condition).toBe('service_healthy');
    for (const k of ['EDGEFLEET_QUEUE_URLS', 'EDGEFLEET_OUTPUT_BUCKETS', 'EDGEFLEET_RESULTS_QUEUE_URL'])
      expect(node.environment?.[k], k).toBe(
        r.config.services[k === 'EDGEFLEET_QUEUE_URLS' ? 'job-receiver' : 'result-uploader']?.environment?.[
          k
        ],
      );
    expect(mountSources(node).filter((m) => m === '/dev/null')).toHaveLength(2);
  });

  it('.env.example documents every variable the compose files use, and sets none they ignore', () => {
    const used = composeVariables();
    const { set, planned } = envExample();
    expect([...used].filter((v) => !set.has(v))).toEqual([]);
    // COMPOSE_PROJECT_NAME is read by Compose itself.
    expect([...set].filter((v) => !used.has(v) && v !== 'COMPOSE_PROJECT_NAME')).toEqual([]);
    expect([...planned].filter((v) => used.has(v))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('lints clean (dockerfile-utils + the image rules of lint.mjs)', () => {
    expect(lintDockerfile(join(DOCKER, 'Dockerfile'))).toEqual([]);
  });

  it('the linter reports a broken Dockerfile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-lint-'));
    try {
      const bad = join(dir, 'Dockerfile');
      writeFileSync(bad, 'FROM node:20 AS build\nrun echo\nHEALTHCHECK --interval=5x CMD true\nUSER root\n');
      const problems = lintDockerfile(bad);
      expect(problems.some((p) => /uppercase/.test(p))).toBe(true);
      expect(problems.some((p) => /unknown unit/.test(p))).toBe(true);
      expect(problems.some((p) => /BUILDPLATFORM/.test(p))).toBe(true);
      expect(problems.some((p) => /dockerignore/.test(p))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image bundles start standalone (check-bundles.mjs)', () => {
  let redis: RedisChild;
  let redisDir: string;
  let compose: ComposeConfig;
  const reports: BundleReport[] = [];

  beforeAll(async () => {
    redisDir = mkdtempSync(join(tmpdir(), 'edgefleet-bundle-redis-'));
    redis = await startRedis(redisDir);
    const r = composeConfig([BASE]);
    if (!r.ok || !r.config) throw new Error(`compose.yaml does not validate:\n${r.output}`);
    compose = r.config;
  });

  afterAll(async () => {
    await redis?.stop();
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
    const { planned } = envExample();
    const read = new Set(reports.flatMap((r) => r.variables));
    const nowRead = [...planned].filter((v) => read.has(v));
    // Not a failure: a service started reading a planned variable; compose.yaml can now pass it on.
    if (nowRead.length)
      console.warn(`docker/.env.example: now read by a service, wire them in compose.yaml: ${nowRead}`);
  });

  it.each(SERVICE_NAMES)(
    '%s: the pruned bundle starts with plain node, passes its HEALTHCHECK, exits 2 on a bad variable',
    async (service) => {
      const report = await checkBundle(service, { redis });
      reports.push(report);
      expect(report.stopCode).toBe(0);
      // Every EDGEFLEET_* variable compose.yaml gives this service is one its bundle reads.
      // A secret's *_FILE variable counts as the secret's (service-kit's isSecretVariable, loadEnvConfig).
      const given = Object.keys(compose.services[service]?.environment ?? {})
        .filter((v) => v.startsWith('EDGEFLEET_'))
        .map((v) => (/SECRET|TOKEN|PASSWORD|KEY/.test(v) ? v.replace(/_FILE$/, '') : v));
      expect(given.filter((v) => !report.variables.includes(v))).toEqual([]);
    },
    120_000,
  );
});
