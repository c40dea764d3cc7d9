// A local node as a new user meets it, started on non-default ports (every EDGEFLEET_LOCAL_*_PORT
// moved): its Redis and job API are closed to job code (a real job probes them through the real
// services), its secrets sit in the data folder with mode 0600, and the CLI finds the node through
// <dataDir>/client.json with no variable exported.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@edgefleet/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientFile, readClientFile } from '../src/client-file.js';
import { type LocalNodeProcess, startLocalNodeProcess } from '../src/local/node-process.js';

const cliEntry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let home: string;
let dataDir: string;
let node: LocalNodeProcess;
let client: ClientFile;

/** The CLI run from `home` (where local mode's data folder is ./.data) with nothing but PATH and HOME. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home },
      timeout: 240_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
const secret = (name: string) => readFileSync(join(dataDir, name), 'utf8').trim();

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'edgefleet-local-'));
  // The job user must traverse down to <dataDir>/jobs.
  chmodSync(home, 0o755);
  dataDir = join(home, '.data');
  mkdirSync(dataDir);
  node = await startLocalNodeProcess({
    dataDir,
    nodeName: 'local-sec-node',
    env: {},
    logFile: join(home, 'node.log'),
    freePort,
  });
  const read = readClientFile(join(dataDir, 'client.json'));
  if (read.kind !== 'ok') throw new Error(`no client file: ${JSON.stringify(read)}`);
  client = read.file;
}, 150_000);

afterAll(async () => {
  await node?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('local mode on non-default ports', { timeout: 300_000 }, () => {
  it('keeps a generated Redis password and API token in the data folder, mode 0600, and requires both', async () => {
    for (const name of ['redis-password', 'api-token', 'webhook-secret', 'redis/redis.conf']) {
      expect((statSync(join(dataDir, name)).mode & 0o777).toString(8), name).toBe('600');
    }
    expect(secret('redis-password')).toMatch(/^[0-9a-f]{48}$/);
    expect(secret('api-token')).toMatch(/^[0-9a-f]{48}$/);
    // Redis refuses a client without the password; with it, it answers.
    const anonymous = new Redis(node.redisPort, '127.0.0.1', {
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    anonymous.on('error', () => {});
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    const authed = new Redis(node.redisUrl, { maxRetriesPerRequest: 1 });
    expect(await authed.ping()).toBe('PONG');
    authed.disconnect();
    // The job API refuses a request without the token.
    expect((await fetch(`${client.jobApiUrl}/v1/jobs`)).status).toBe(401);
    const ok = await fetch(`${client.jobApiUrl}/v1/jobs`, {
      headers: { authorization: `Bearer ${secret('api-token')}` },
    });
    expect(ok.status).toBe(200);
    // The password is on no command line (every user can read /proc/<pid>/cmdline).
    const redisPid = node.pids()['redis-server'] as number;
    expect(readFileSync(`/proc/${redisPid}/cmdline`, 'utf8')).not.toContain(secret('redis-password'));
  });

  it('the client file names the node, its ports and where the token is, and no secret', () => {
    expect(client).toMatchObject({
      node: 'local-sec-node',
      jobApiUrl: `http://127.0.0.1:${node.ports['job-receiver']}`,
      membersApiUrl: `http://127.0.0.1:${node.ports['gossip-membership']}`,
      apiTokenFile: join(dataDir, 'api-token'),
      redis: { passwordFile: join(dataDir, 'redis-password') },
    });
    expect(client.aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(client.aws.endpoint).not.toContain(':4566');
    const text = readFileSync(join(dataDir, 'client.json'), 'utf8');
    expect(text).not.toContain(secret('api-token'));
    expect(text).not.toContain(secret('redis-password'));
  });

  it('the CLI finds the node with no variable exported: submit --wait ends SUCCEEDED and says which node it used', async () => {
    const r = await cli([
      'submit',
      fileURLToPath(new URL('../../../examples/hello', import.meta.url)),
      '--wait',
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/: SUCCEEDED/);
    expect(r.stderr).toContain(
      `node local-sec-node: job API ${client.jobApiUrl}, members API ${client.membersApiUrl} (from ${join(dataDir, 'client.json')})`,
    );
    const members = await cli(['members', '--json']);
    expect(members.code, members.stderr).toBe(0);
    expect(JSON.parse(members.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'local-sec-node', state: 'alive' })]),
    );
    const dead = await cli(['dead', '--json']);
    expect(dead.code, dead.stderr).toBe(0);
  });

  it('job code cannot use the node: Redis answers NOAUTH, the job API 401, the secrets are unreadable and appear in nothing it can read', async () => {
    const job = join(home, 'probe');
    mkdirSync(job);
    writeFileSync(
      join(job, 'main.py'),
      PROBE.replace('@REDIS_PORT@', String(node.redisPort))
        .replace('@API_URL@', client.jobApiUrl)
        .replace('@DATA_DIR@', dataDir),
    );
    const r = await cli(['submit', job, '--wait', '--json']);
    const result = lastJson(r.stdout);
    expect(result.state, `${r.stdout}\n${r.stderr}`).toBe('SUCCEEDED');
    const out = join(home, 'probe-result');
    const dl = await cli(['results', result.jobId as string, '--download', out, '--json']);
    expect(dl.code, dl.stderr).toBe(0);
    const probe = JSON.parse(readFileSync(join(out, 'output/probe.json'), 'utf8'));
    expect(probe.uid).not.toBe(0);
    expect(probe.redis).toMatch(/^-NOAUTH/);
    expect(probe.redis).not.toContain('+PONG');
    expect(probe.redis).not.toContain('+OK');
    expect(probe.api).toBe(401);
    for (const name of ['redis-password', 'api-token', 'webhook-secret', 'redis/redis.conf'])
      expect(probe.files[name], name).toBe('PermissionError');
    // Everything the job could read of other processes (command lines, environments) holds no secret.
    expect(probe.procRead).toBeGreaterThan(0);
    const uploaded = readFileSync(join(out, 'output/found.txt'), 'utf8');
    for (const name of ['redis-password', 'api-token', 'webhook-secret'])
      expect(uploaded.includes(secret(name)), name).toBe(false);
    // The node's Redis kept its settings.
    const redis = new Redis(node.redisUrl, { maxRetriesPerRequest: 1 });
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    redis.disconnect();
  });
});

/** A hostile job: it tries the node's Redis, the job API and the data folder, and collects what it can read. */
const PROBE = `
import glob, json, os, socket, urllib.error, urllib.request

res = {'uid': os.geteuid(), 'files': {}}

def redis(cmds):
    try:
        s = socket.create_connection(('127.0.0.1', @REDIS_PORT@), timeout=5)
    except OSError as e:
        return 'refused: %s' % e
    s.sendall(b''.join(cmds))
    s.settimeout(2)
    data = b''
    try:
        while data.count(b'\\r\\n') < len(cmds):
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    s.close()
    return data.decode('latin-1')

res['redis'] = redis([b'PING\\r\\n', b'KEYS *\\r\\n', b'CONFIG SET appendonly no\\r\\n'])
try:
    urllib.request.urlopen('@API_URL@/v1/jobs', timeout=5)
    res['api'] = 'open'
except urllib.error.HTTPError as e:
    res['api'] = e.code
except Exception as e:
    res['api'] = 'error: %s' % e
for name in ['redis-password', 'api-token', 'webhook-secret', 'redis/redis.conf']:
    try:
        open(os.path.join('@DATA_DIR@', name)).read()
        res['files'][name] = 'read'
    except OSError as e:
        res['files'][name] = type(e).__name__
found = []
res['procRead'] = 0
for path in glob.glob('/proc/[0-9]*/cmdline') + glob.glob('/proc/[0-9]*/environ'):
    try:
        found.append(open(path, 'rb').read().decode('latin-1'))
        res['procRead'] += 1
    except OSError:
        pass
out = os.environ['EDGEFLEET_OUTPUT_DIR']
open(os.path.join(out, 'found.txt'), 'w').write('\\n'.join(found))
open(os.path.join(out, 'probe.json'), 'w').write(json.dumps(res))
print(json.dumps(res))
`;
