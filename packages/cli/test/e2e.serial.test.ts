// End to end, as a user runs it: local mode started with the README's command line (`edgefleet
// local`), the examples submitted through the CLI, each ending in its expected state with outputs,
// logs and manifest in S3 and one signed notification at a test webhook; `edgefleet members` shows
// the node alive; Ctrl-C, sent as a terminal sends it (to the whole process group), stops everything
// gracefully: each service once, in order, exit 0. The same again with the four services in one process
// (`edgefleet local --single-process`, which runs `edgefleet node`).
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '@edgefleet/contracts';
import { eventually, freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cliEntry = join(root, 'packages/cli/dist/main.js');
const SECRET = 'e2e-webhook-secret-0123456789abcdef';

interface Hook {
  body: string;
  headers: IncomingHttpHeaders;
}
const hooks: Hook[] = [];
const hookServer = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    hooks.push({ body, headers: req.headers });
    res.statusCode = 204;
    res.end();
  });
});

let node: ChildProcess;
let nodeOut = '';
let hookUrl: string;
let dataDir: string;
const env = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' });

function cli(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The CLI finds the node through <dataDir>/client.json.
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: root,
      env: { ...env(), EDGEFLEET_DATA_DIR: dataDir, ...extraEnv },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function submitAndWait(args: string[]) {
  const r = await cli(['submit', ...args, '--webhook', hookUrl, '--wait', '--wait-timeout', '240', '--json']);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(
      `submit printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}\n--- node ---\n${nodeOut.slice(-4000)}`,
    );
  }
  return { code: r.code, result, stderr: r.stderr };
}

async function resultFiles(jobId: string): Promise<string[]> {
  const r = await cli(['results', jobId, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { files: { key: string }[] }).files.map((f) => f.key).sort();
}

beforeAll(async () => {
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  const addr = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
});

afterAll(async () => {
  await new Promise<void>((r) => hookServer.close(() => r()));
});

async function startNode(localArgs: string[]): Promise<void> {
  hooks.length = 0;
  nodeOut = '';
  dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-e2e-'));
  node = spawn(process.execPath, [cliEntry, 'local', ...localArgs], {
    cwd: root,
    env: {
      ...env(),
      EDGEFLEET_DATA_DIR: dataDir,
      EDGEFLEET_NODE_NAME: 'e2e-node',
      EDGEFLEET_WEBHOOK_SECRET: SECRET,
      EDGEFLEET_LOCAL_REDIS_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a shell gives a foreground job, so the test can Ctrl-C the group.
    detached: true,
  });
  node.stdout?.on('data', (d) => (nodeOut += d));
  node.stderr?.on('data', (d) => (nodeOut += d));
  await eventually(
    () => {
      if (node.exitCode !== null)
        throw new Error(`local mode exited ${node.exitCode}: ${nodeOut.slice(-3000)}`);
      return /node e2e-node is up/.test(nodeOut);
    },
    { timeoutMs: 90_000, what: 'local mode up' },
  );
}

const MODES = [
  { mode: 'four processes', localArgs: [] },
  { mode: 'one process', localArgs: ['--single-process'] },
];

describe.each(MODES)('a local node ($mode), end to end', { timeout: 300_000 }, ({ localArgs }) => {
  beforeAll(() => startNode(localArgs), 120_000);
  afterAll(() => {
    if (node && node.exitCode === null) node.kill('SIGKILL');
  });

  it('hello: SUCCEEDED with its output, logs and manifest in S3', async () => {
    const { code, result } = await submitAndWait([join(root, 'examples/hello')]);
    expect(result).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect(code).toBe(0);
    const files = await resultFiles(result.jobId as string);
    expect(files).toEqual(
      expect.arrayContaining(['manifest.json', 'output/greeting.txt', 'logs/stdout.log']),
    );
  });

  it('three-folders: files from three S3 folders are opened as siblings', async () => {
    const jobId = `three-${Date.now()}`;
    const up = await cli([
      'upload',
      join(root, 'examples/three-folders'),
      `s3://edgefleet-jobs/examples/${jobId}/`,
    ]);
    expect(up.code, up.stderr).toBe(0);
    const job = JSON.parse(readFileSync(join(root, 'examples/three-folders/job.json'), 'utf8'));
    job.jobId = jobId;
    job.inputs = job.inputs.map((i: { uri: string }) => ({
      uri: i.uri.replace('examples/three-folders/', `examples/${jobId}/`),
    }));
    const file = join(mkdtempSync(join(tmpdir(), 'job-')), 'job.json');
    writeFileSync(file, JSON.stringify(job));
    const { result } = await submitAndWait([file]);
    expect(result).toMatchObject({ state: 'SUCCEEDED' });
    expect(await resultFiles(jobId)).toContain('output/summary.txt');
  });

  it('url-wheel: a `name @ URL` requirement is installed and imported', async () => {
    const port = await freePort();
    const dir = join(mkdtempSync(join(tmpdir(), 'wheel-')), 'url-wheel');
    cpSync(join(root, 'examples/url-wheel'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'requirements.txt'),
      readFileSync(join(dir, 'requirements.txt'), 'utf8').replace('8765', String(port)),
    );
    const server = spawn('/usr/bin/python3', [join(dir, 'serve-wheel.py')], {
      env: { ...env(), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let served = '';
    server.stdout?.on('data', (d) => (served += d));
    try {
      await eventually(() => served.includes('serving'), { timeoutMs: 15_000 });
      const { result } = await submitAndWait([dir]);
      expect(result).toMatchObject({ state: 'SUCCEEDED' });
      expect(await resultFiles(result.jobId as string)).toContain('output/greeting.txt');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('many-outputs: nested outputs are uploaded', async () => {
    const { result } = await submitAndWait([join(root, 'examples/many-outputs')]);
    expect(result).toMatchObject({ state: 'SUCCEEDED' });
    expect(await resultFiles(result.jobId as string)).toEqual(
      expect.arrayContaining(['output/metrics.json', 'output/plots/a.csv', 'output/plots/b.csv']),
    );
  });

  it('fails: FAILED with EXIT_NONZERO and exit code 3; the CLI exits 1', async () => {
    const { code, result } = await submitAndWait([join(root, 'examples/fails')]);
    expect(result).toMatchObject({ state: 'FAILED', reason: 'EXIT_NONZERO', exitCode: 3 });
    expect(code).toBe(1);
    expect(await resultFiles(result.jobId as string)).toContain('logs/stderr.log');
  });

  it('times-out: TIMED_OUT', async () => {
    const { code, result } = await submitAndWait([join(root, 'examples/times-out'), '--timeout', '2']);
    expect(result).toMatchObject({ state: 'TIMED_OUT' });
    expect(code).toBe(1);
  });

  it('the webhook got one signed notification per job', async () => {
    const terminal = hooks.map((h) => ({ h, body: JSON.parse(h.body) as { jobId: string; state: string } }));
    const jobIds = new Set(terminal.map((t) => t.body.jobId));
    expect(jobIds.size).toBe(6);
    for (const { h, body } of terminal) {
      const sig = verifyWebhookSignature({
        header: h.headers[SIGNATURE_HEADER.toLowerCase()] as string,
        body: h.body,
        secret: SECRET,
      });
      expect(sig.ok, body.jobId).toBe(true);
      expect(h.headers[IDEMPOTENCY_HEADER.toLowerCase()]).toContain(body.jobId);
    }
    // Duplicates, if any, carry the same idempotency key.
    const keys = new Map<string, number>();
    for (const { h } of terminal)
      keys.set(
        String(h.headers[IDEMPOTENCY_HEADER.toLowerCase()]),
        (keys.get(String(h.headers[IDEMPOTENCY_HEADER.toLowerCase()])) ?? 0) + 1,
      );
    expect(keys.size).toBe(6);
  });

  it('members shows the node alive', async () => {
    const r = await cli(['members', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'e2e-node', state: 'alive' })]),
    );
  });

  it('runs the services as the mode says: four processes, or all four in one', async () => {
    const pids = JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(pids).sort()).toEqual(
      localArgs.length
        ? ['edgefleet-node', 'redis-server']
        : ['gossip-membership', 'job-executor', 'job-receiver', 'redis-server', 'result-uploader'],
    );
    for (const pid of Object.values(pids)) expect(existsSync(`/proc/${pid}`)).toBe(true);
    // Gossip alone runs without V8's JIT (services/gossip-membership/src/node-args.ts); the
    // single-process node keeps it for the job services it also runs.
    const argv = (name: string) => readFileSync(`/proc/${pids[name]}/cmdline`, 'utf8').split('\0');
    if (localArgs.length) expect(argv('edgefleet-node')).not.toContain('--jitless');
    else {
      expect(argv('gossip-membership')).toContain('--jitless');
      expect(argv('job-executor')).not.toContain('--jitless');
    }
  });

  it('Ctrl-C stops the whole node gracefully: each service once, exit 0', async () => {
    const exited = new Promise<number | null>((r) => node.once('exit', (code) => r(code)));
    // A terminal's Ctrl-C: SIGINT to every process of the foreground group, not only to local mode.
    process.kill(-(node.pid as number), 'SIGINT');
    expect(await exited, nodeOut.slice(-3000)).toBe(0);
    expect(nodeOut).not.toMatch(/second signal|restarting in|redis-server exited/);
    const services = localArgs.length
      ? ['edgefleet-node']
      : ['job-receiver', 'job-executor', 'result-uploader', 'gossip-membership'];
    const stopLines = nodeOut.match(/^.*\bstopped \(.*$/gm) ?? [];
    // Stopped in reverse start order, each by the supervisor's one SIGTERM and with exit code 0.
    expect(stopLines.map((l) => l.replace(/^.*?(\S+) stopped \((.*)\)$/, '$1 $2'))).toEqual(
      services.map((s) => `${s} exit 0`),
    );
    expect(nodeOut).toMatch(/\bstopped\s*$/);
  });
});
