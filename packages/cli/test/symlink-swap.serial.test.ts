// A job that plants symlinks in output/ and leaves a setsid process swapping a folder of output/ for a
// symlink to a root-only folder, as fast as it can, end to end through the real services (receiver,
// executor, uploader, its Redis, the S3/SQS emulator, /usr/bin/python3 as the job user). Nothing
// outside output/ may be uploaded: not the root-only file behind the swapped folder, not the file a
// planted link names, not the uploader's own /proc/self/environ (it carries a seeded value); and the
// swapper is gone before the job's terminal state. The same race against the uploader's open, for
// 1,000 rounds at the file level, is services/result-uploader/test/open-listed-race.test.ts; against
// the relocation of a built environment, services/job-executor/test/hostile-jobs/env-seal.test.ts.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type JobMessageInput, TERMINAL_STATES } from '@edgefleet/contracts';
import { eventually, freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientFile, readClientFile } from '../src/client-file.js';
import { type LocalNodeProcess, startLocalNodeProcess } from '../src/local/node-process.js';

const cliEntry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SECRET = 'SEEDED-ROOT-ONLY-SECRET-7f3a9c';
const CANARY = 'SEEDED-UPLOADER-ENVIRON-51be02';
/** Swap rounds the swapper has done before the job's main process may exit. */
const ROUNDS_BEFORE_EXIT = 1000;
/** A job user of this test's own: the executor refuses one whose uid runs other processes. */
const JOB_USER = 'ef-swap-e2e';

let home: string;
let dataDir: string;
let secretDir: string;
let pidDir: string;
let node: LocalNodeProcess;
let client: ClientFile;
let s3: S3Client;
let sqs: SQSClient;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home, EDGEFLEET_DATA_DIR: dataDir },
      timeout: 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function jobRecord(id: string): Promise<{ state: string } | null> {
  const r = await fetch(`${node.apiUrl}/v1/jobs/${id}`, {
    headers: { authorization: `Bearer ${node.apiToken}` },
  });
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: ${r.status}`);
  return (await r.json()) as { state: string };
}

/** Every file below `dir`, as [relative path, content]. */
function filesBelow(dir: string, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesBelow(join(dir, e.name), rel));
    else out.push([rel, readFileSync(join(dir, e.name), 'utf8')]);
  }
  return out;
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};

/** The job: plants links, starts the swapper, exits once the swapper has done ROUNDS_BEFORE_EXIT rounds. */
const MAIN = (pidFile: string) => `import os, time
out = os.environ["EDGEFLEET_OUTPUT_DIR"]
os.makedirs(os.path.join(out, "a"))
with open(os.path.join(out, "a", "result.txt"), "w") as f:
    f.write("job output")
os.symlink("/proc/self/environ", os.path.join(out, "environ"))
os.symlink(${JSON.stringify(join(secretDir, 'result.txt'))}, os.path.join(out, "secret.txt"))
os.symlink(${JSON.stringify(secretDir)}, os.path.join(out, "link"))
pid_file = ${JSON.stringify(pidFile)}
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        os.chdir(out)
        n = 0
        while True:
            try:
                os.rename("a", "real")
                os.rename("link", "a")
                os.rename("a", "link")
                os.rename("real", "a")
            except OSError:
                pass
            n += 1
            if n == ${ROUNDS_BEFORE_EXIT}:
                with open(pid_file + ".tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.rename(pid_file + ".tmp", pid_file)
    os._exit(0)
while not os.path.exists(pid_file):
    time.sleep(0.01)
`;

beforeAll(async () => {
  try {
    execFileSync('id', ['-u', JOB_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', JOB_USER], {
      stdio: 'ignore',
    });
  }
  home = mkdtempSync(join(tmpdir(), 'edgefleet-swap-'));
  // The job user must traverse down to <dataDir>/jobs.
  chmodSync(home, 0o755);
  dataDir = join(home, '.data');
  mkdirSync(dataDir);
  // Root-only: a file with the same relative name as the job's, behind the swapped-in link.
  secretDir = join(home, 'secret');
  mkdirSync(secretDir, { mode: 0o700 });
  writeFileSync(join(secretDir, 'result.txt'), SECRET, { mode: 0o600 });
  pidDir = join(home, 'pids');
  mkdirSync(pidDir);
  chmodSync(pidDir, 0o777);
  node = await startLocalNodeProcess({
    dataDir,
    nodeName: 'symlink-swap-node',
    // Every service's environment carries the canary: an upload of /proc/self/environ would show it.
    env: { EDGEFLEET_TEST_CANARY: CANARY, EDGEFLEET_JOB_USER: JOB_USER },
    logFile: join(home, 'node.log'),
    freePort,
  });
  const read = readClientFile(join(dataDir, 'client.json'));
  if (read.kind !== 'ok') throw new Error(`no client file: ${JSON.stringify(read)}`);
  client = read.file;
  const aws = {
    region: client.aws.region,
    ...(client.aws.endpoint ? { endpoint: client.aws.endpoint } : {}),
    ...(client.aws.credentials ? { credentials: client.aws.credentials } : {}),
  };
  s3 = new S3Client({ ...aws, forcePathStyle: true });
  sqs = new SQSClient(aws);
}, 150_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await node?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('symlinks planted in output/ and swapped while the job ends', { timeout: 300_000 }, () => {
  it('nothing outside output/ is uploaded, the swapper is gone before the terminal state, the job succeeds', async () => {
    const id = `swap-${process.pid}-${Date.now().toString(36)}`;
    const pidFile = join(pidDir, id);
    const bucket = client.aws.jobsBucket;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${id}/main.py`, Body: MAIN(pidFile) }));
    const message: JobMessageInput = {
      version: 1,
      kind: 'job',
      jobId: id,
      code: { entrypoint: 'main.py' },
      inputs: [{ uri: `s3://${bucket}/${id}/main.py` }],
      output: { uri: client.aws.resultsUri },
    };
    await sqs.send(
      new SendMessageCommand({ QueueUrl: client.aws.queueUrl, MessageBody: JSON.stringify(message) }),
    );
    await eventually(
      async () => (TERMINAL_STATES as readonly string[]).includes((await jobRecord(id))?.state ?? ''),
      { timeoutMs: 180_000, what: 'the job in a terminal state' },
    );
    // The swapper ran (it wrote its pid after its first rounds) and was ended with the job's run.
    expect(existsSync(pidFile)).toBe(true);
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect((await jobRecord(id))?.state).toBe('SUCCEEDED');

    const out = join(home, 'result');
    const dl = await cli(['results', id, '--download', out, '--json']);
    expect(dl.code, dl.stderr).toBe(0);
    const files = filesBelow(out);
    // Whichever name the real folder had when the swapper was stopped, its file is the job's.
    const outputFiles = files.filter(([p]) => p.startsWith('output/'));
    expect(outputFiles.length).toBeGreaterThan(0);
    for (const [path, content] of outputFiles)
      expect({ path, content }).toEqual({ path, content: 'job output' });
    for (const [path, content] of files) {
      expect({ path, secret: content.includes(SECRET) }).toEqual({ path, secret: false });
      expect({ path, canary: content.includes(CANARY) }).toEqual({ path, canary: false });
    }
  });
});
