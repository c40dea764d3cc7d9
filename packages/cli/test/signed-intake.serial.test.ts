// A node that requires signed job messages, end to end through the real services (receiver, executor,
// uploader, its Redis, the S3/SQS emulator, /usr/bin/python3 as the job user): whoever can write to the
// queue sends an unsigned message naming the id of a real job first, with code and env of its own; the
// real, signed job with that id still runs as itself, and the unsigned message is left on the queue
// for its dead-letter policy.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type JobMessageInput, TERMINAL_STATES } from '@edgefleet/contracts';
import { eventually, freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientFile, readClientFile } from '../src/client-file.js';
import { LOCAL_NAMES } from '../src/local/emulator.js';
import { type LocalNodeProcess, startLocalNodeProcess } from '../src/local/node-process.js';

const cliEntry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SIGNING_SECRET = 'signed-intake-fleet-secret-0123456789abcdef';
/** The receiver's SQS attribute for the signature (services/job-receiver/src/core/signature.ts). */
const SIGNATURE_ATTRIBUTE = 'EdgefleetSignature';
const sign = (body: string) => createHmac('sha256', SIGNING_SECRET).update(body, 'utf8').digest('hex');

let home: string;
let dataDir: string;
let node: LocalNodeProcess;
let client: ClientFile;
let s3: S3Client;
let sqs: SQSClient;
const hooks: { jobId: string; state: string }[] = [];
const hookServer = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    hooks.push(JSON.parse(body));
    res.statusCode = 204;
    res.end();
  });
});
let hookUrl: string;

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

async function jobRecord(id: string): Promise<{ state: string; history: { state: string }[] } | null> {
  const r = await fetch(`${node.apiUrl}/v1/jobs/${id}`, {
    headers: { authorization: `Bearer ${node.apiToken}` },
  });
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: ${r.status}`);
  return (await r.json()) as { state: string; history: { state: string }[] };
}

async function queueDepth(url: string): Promise<number> {
  const a = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const MAIN = (who: string) =>
  `import os\nopen(os.path.join(os.environ['EDGEFLEET_OUTPUT_DIR'], 'who.txt'), 'w').write('${who}:' + os.environ.get('WHO', ''))\n`;

beforeAll(async () => {
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  const addr = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
  home = mkdtempSync(join(tmpdir(), 'edgefleet-signed-'));
  // The job user must traverse down to <dataDir>/jobs.
  chmodSync(home, 0o755);
  dataDir = join(home, '.data');
  mkdirSync(dataDir);
  node = await startLocalNodeProcess({
    dataDir,
    nodeName: 'signed-intake-node',
    env: { EDGEFLEET_REQUIRE_SIGNATURE: 'true', EDGEFLEET_SIGNING_SECRET: SIGNING_SECRET },
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
  await new Promise<void>((r) => hookServer.close(() => r()));
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('signatures required, end to end', { timeout: 300_000 }, () => {
  it('unsigned then signed with one job id: the signed job ends SUCCEEDED with its own output and one terminal notification; the unsigned message is not deleted', async () => {
    const id = `claimed-${process.pid}-${Date.now().toString(36)}`;
    const bucket = client.aws.jobsBucket;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${id}/real/main.py`, Body: MAIN('signed') }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${id}/forged/main.py`, Body: MAIN('forged') }),
    );
    const message = (folder: string, who: string): JobMessageInput => ({
      version: 1,
      kind: 'job',
      jobId: id,
      code: { entrypoint: 'main.py' },
      inputs: [{ uri: `s3://${bucket}/${id}/${folder}/main.py` }],
      output: { uri: client.aws.resultsUri },
      env: { WHO: who },
      notify: { webhook: hookUrl },
    });
    const queueUrl = client.aws.queueUrl;
    const forged = JSON.stringify(message('forged', 'forged'));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: forged }));
    // The receiver has seen the unsigned message (it is in flight, not deleted) and recorded nothing.
    await eventually(
      async () => {
        const a = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) === 1;
      },
      { timeoutMs: 30_000, what: 'the unsigned message received' },
    );
    expect(await jobRecord(id)).toBeNull();
    await eventually(
      () =>
        readFileSync(join(home, 'node.log'), 'utf8')
          .split('\n')
          .some((l) => l.includes(`"claimedJobId":"${id}"`) && l.includes('SIGNATURE_MISSING')),
      { what: 'the receiver logged the unsigned message as SIGNATURE_MISSING' },
    );

    const body = JSON.stringify(message('real', 'signed'));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: { [SIGNATURE_ATTRIBUTE]: { DataType: 'String', StringValue: sign(body) } },
      }),
    );
    // Wait for the first terminal state (an unfixed receiver would show REJECTED from the unsigned one).
    await eventually(
      async () => (TERMINAL_STATES as readonly string[]).includes((await jobRecord(id))?.state ?? ''),
      { timeoutMs: 180_000, what: 'job X in a terminal state' },
    );
    const rec = await jobRecord(id);
    expect(rec?.state).toBe('SUCCEEDED');
    expect(rec?.history.map((h) => h.state)).not.toContain('REJECTED');

    // Its output is the signed job's: its code, its env.
    const out = join(home, 'result');
    const dl = await cli(['results', id, '--download', out, '--json']);
    expect(dl.code, dl.stderr).toBe(0);
    expect(readFileSync(join(out, 'output/who.txt'), 'utf8')).toBe('signed:signed');

    // One terminal notification: on the webhook and on the results queue.
    await eventually(() => hooks.some((h) => h.jobId === id && h.state === 'SUCCEEDED'), {
      what: 'the webhook notified',
    });
    const resultsQueue = (await sqs.send(new GetQueueUrlCommand({ QueueName: LOCAL_NAMES.resultsQueue })))
      .QueueUrl as string;
    const notes: { jobId: string; state: string }[] = [];
    for (;;) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: resultsQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (!r.Messages?.length) break;
      for (const m of r.Messages) {
        notes.push(JSON.parse(m.Body ?? '{}'));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: resultsQueue, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    expect(notes.filter((n) => n.jobId === id).map((n) => n.state)).toEqual(['SUCCEEDED']);
    expect(hooks.filter((h) => h.jobId === id).map((h) => h.state)).toEqual(['SUCCEEDED']);

    // The signed message was deleted; the unsigned one is still on the queue, left to the dead-letter
    // policy (local mode's queue has none, so it stays).
    expect(await queueDepth(queueUrl)).toBe(1);
  });
});
