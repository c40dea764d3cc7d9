// Receiver benchmark: messages/s from SQS (fauxqs) into the jobs stream, and the latency the hand-off
// adds (transition script + durability → a blocked XREADGROUP sees the entry), next to redis-benchmark's
// own SET latency against the same redis-server, with `appendfsync always` and with `everysec`.
// Run: pnpm --filter @edgefleet/job-receiver bench   (BENCH_MESSAGES, BENCH_HANDOFFS to resize)
import { spawnSync } from 'node:child_process';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type JobMessage, JobMessageV1, redisNames } from '@edgefleet/contracts';
import { silentLogger } from '@edgefleet/service-kit';
import { emitBenchSection, startEmulator, startRedisServer } from '@edgefleet/testkit';
import { JobStore } from '../src/adapters/job-store.js';
import { loadConfig } from '../src/config.js';
import { createReceiver } from '../src/receiver.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1000);
const HANDOFFS = Number(process.env.BENCH_HANDOFFS ?? 500);

const message = (jobId: string): JobMessage =>
  JobMessageV1.parse({
    version: 1,
    kind: 'job',
    jobId,
    code: { entrypoint: 'main.py', args: ['--epochs', '3'] },
    inputs: [{ uri: 's3://bench-bucket/code/main.py' }, { uri: 's3://bench-bucket/data/', path: 'data/' }],
    output: { uri: 's3://bench-bucket/results/' },
  });

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function redisBenchmark(port: number): { rps: number; p50: number; p99: number } {
  // One client, like the receiver's single command connection: its latency is the comparable number.
  const r = spawnSync(
    'redis-benchmark',
    ['-p', String(port), '-t', 'set', '-n', '5000', '-c', '1', '--csv'],
    {
      encoding: 'utf8',
    },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('"SET"'));
  if (!line) return { rps: NaN, p50: NaN, p99: NaN };
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const cols = line.split(',').map((c) => Number(c.replace(/"/g, '')));
  return { rps: cols[1] ?? NaN, p50: cols[4] ?? NaN, p99: cols[6] ?? NaN };
}

async function run(appendfsync: 'always' | 'everysec') {
  const server = await startRedisServer({ aof: true, appendfsync });
  const emu = await startEmulator();
  const redis = server.client();
  const reader = server.client();
  const sqs = new SQSClient({ endpoint: emu.endpoint, region: emu.region, credentials: emu.credentials });
  const logger = silentLogger();
  try {
    // 1. Throughput: MESSAGES job messages in the queue, the receiver (its factory, as main.ts builds
    // it, one poller), until all are in the stream.
    const names = redisNames(`bench-${appendfsync}`);
    const queueUrl = emu.createQueue(`bench-${appendfsync}`);
    for (let i = 0; i < MESSAGES; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, MESSAGES - i) }, (_, k) => ({
            Id: `m${k}`,
            MessageBody: JSON.stringify(message(`bench-${i + k}`)),
          })),
        }),
      );
    const receiver = await createReceiver(
      loadConfig({
        EDGEFLEET_REDIS_PREFIX: `bench-${appendfsync}`,
        EDGEFLEET_NODE_NAME: 'bench',
        EDGEFLEET_PORT: '0',
        EDGEFLEET_QUEUE_URLS: queueUrl,
        EDGEFLEET_SQS_WAIT_SECONDS: '1',
        EDGEFLEET_SQS_VISIBILITY_SECONDS: '60',
        EDGEFLEET_UNUSABLE_VISIBILITY_SECONDS: '0',
        EDGEFLEET_MAX_BACKLOG: String(MESSAGES * 2),
        EDGEFLEET_ALLOWED_BUCKETS: 'bench-bucket',
        EDGEFLEET_GPU: 'false',
        EDGEFLEET_INTAKE_MIN_FREE_DISK_BYTES: '0',
        // redis-server before 7.2 has no WAITAOF: `everysec` is not durable, measured all the same.
        EDGEFLEET_REQUIRE_DURABILITY: 'false',
      }),
      { redis, sqs, logger },
    );
    const t0 = performance.now();
    await receiver.start();
    while ((await redis.xlen(names.jobsStream)) < MESSAGES) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    await receiver.stop();

    // 2. Hand-off latency of the job store alone: handOff() → a blocked XREADGROUP (own connection)
    // returns the entry.
    const lat = redisNames(`lat-${appendfsync}`);
    const latStore = new JobStore({ redis, names: lat, by: 'job-receiver', node: 'bench' });
    await redis.xgroup('CREATE', lat.jobsStream, 'job-executor', '$', 'MKSTREAM');
    const seen: number[] = [];
    const call: number[] = [];
    for (let i = 0; i < HANDOFFS; i++) {
      const blocked = reader.xreadgroup(
        'GROUP',
        'job-executor',
        'bench',
        'COUNT',
        1,
        'BLOCK',
        5000,
        'STREAMS',
        lat.jobsStream,
        '>',
      );
      const start = performance.now();
      const handed = latStore.handOff(message(`lat-${i}`), 'http').then(() => performance.now() - start);
      await blocked;
      seen.push(performance.now() - start);
      call.push(await handed);
    }
    seen.sort((a, b) => a - b);
    call.sort((a, b) => a - b);
    const rb = redisBenchmark(server.port);
    latStore.close();
    return {
      appendfsync,
      msgsPerSecond: MESSAGES / seconds,
      handOffP50: pct(call, 50),
      handOffP99: pct(call, 99),
      seenP50: pct(seen, 50),
      seenP99: pct(seen, 99),
      rb,
    };
  } finally {
    redis.disconnect();
    reader.disconnect();
    sqs.destroy();
    await emu.stop();
    await server.stop();
  }
}

const rows = [await run('always'), await run('everysec')];
const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(
  /v=(\S+)/,
)?.[1];
const sized = MESSAGES !== 1000 || HANDOFFS !== 500;
emitBenchSection({
  id: 'receiver',
  title: 'job-receiver: SQS → stream hand-off',
  command: `${sized ? `BENCH_MESSAGES=${MESSAGES} BENCH_HANDOFFS=${HANDOFFS} ` : ''}pnpm --filter @edgefleet/job-receiver bench`,
  intro:
    `${MESSAGES} job messages through the S3/SQS emulator (batches of 10) into the jobs stream by one ` +
    `poller, then ${HANDOFFS} timed hand-offs, against a redis-server ${redisVersion ?? ''} of the ` +
    "benchmark's own with AOF, once with `appendfsync always` (the device setting) and once with " +
    '`everysec`; `redis-benchmark` runs against the same server in the same run ' +
    "(`-t set -n 5000 -c 1`: one client, like the receiver's single command connection). " +
    'Resize with BENCH_MESSAGES and BENCH_HANDOFFS.',
  tables: [
    {
      header: [
        'appendfsync',
        'SQS→stream msg/s',
        'handOff() p50 / p99 ms',
        'XADD→XREADGROUP p50 / p99 ms',
        'redis-benchmark SET p50 / p99 ms (1 client)',
        'SET rps',
      ],
      rows: rows.map((r) => [
        r.appendfsync,
        f(r.msgsPerSecond, 0),
        `${f(r.handOffP50)} / ${f(r.handOffP99)}`,
        `${f(r.seenP50)} / ${f(r.seenP99)}`,
        `${f(r.rb.p50, 3)} / ${f(r.rb.p99, 3)}`,
        f(r.rb.rps, 0),
      ]),
      note:
        'handOff() = the transition script (record + XADD in one Lua script) and the durability wait, ' +
        'durable before the SQS delete; XADD→XREADGROUP = from the call until a blocked reader on ' +
        'another connection holds the entry.',
    },
  ],
});
