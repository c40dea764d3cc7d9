// The large chaos run: a few hundred jobs through a local node while services are killed with -9,
// Redis is restarted twice and killed once, S3 is down for 10 s, 60 s and 5 min and the webhook for
// 10 min (each outage inside the middle 80 % of the run, outages of one kind never overlapping).
//   pnpm --filter @edgefleet/cli chaos [--jobs 300] [--seed N] [--minutes M] [--s3-outages 10,60,300]
//     [--webhook-outages 600] [--write]
// Outage lengths are in seconds (comma-separated, empty for none); --minutes defaults to the shortest
// run whose fault window holds them (at least 6). --write puts the summary in docs/chaos.md.
// Exit code 1 when the run has a problem (a job lost, not SUCCEEDED, duplicated unexplained, a folder left…).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emitBenchSection, freePort, startEmulator, startFaultProxy } from '@edgefleet/testkit';
import { formatSummary, summaryRows } from '../src/chaos/plan.js';
import { runChaos } from '../src/chaos/run.js';

const { values: a } = parseArgs({
  options: {
    jobs: { type: 'string', default: '300' },
    seed: { type: 'string' },
    minutes: { type: 'string' },
    's3-outages': { type: 'string', default: '10,60,300' },
    'webhook-outages': { type: 'string', default: '600' },
    write: { type: 'boolean', default: false },
  },
});
const seconds = (name: string, v: string): number[] =>
  v
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => {
      const n = Number(x);
      if (!(Number.isFinite(n) && n > 0)) throw new Error(`--${name}: ${x} is not a number of seconds > 0`);
      return Math.round(n * 1000);
    });
const jobs = Number(a.jobs);
const seed = a.seed !== undefined ? Number(a.seed) : Date.now() % 100_000;
const s3OutagesMs = seconds('s3-outages', a['s3-outages']);
const webhookOutagesMs = seconds('webhook-outages', a['webhook-outages']);
const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
// Faults happen in the middle 80 % of the run, and the outages of one kind follow one another: the
// run is long enough for the longer sum with a minute to spare, rounded up to whole minutes.
const minutes =
  a.minutes !== undefined
    ? Number(a.minutes)
    : Math.max(6, Math.ceil((Math.max(sum(s3OutagesMs), sum(webhookOutagesMs)) + 60_000) / 0.8 / 60_000));
const describeOutages = (ms: number[]) =>
  ms.length
    ? ms.map((m) => (m >= 120_000 && m % 60_000 === 0 ? `${m / 60_000} min` : `${m / 1000} s`)).join(', ')
    : 'none';
const flags =
  `--jobs ${jobs} --seed ${seed} --minutes ${minutes} --s3-outages ${s3OutagesMs.map((m) => m / 1000).join(',')}` +
  ` --webhook-outages ${webhookOutagesMs.map((m) => m / 1000).join(',')}`;

const result = await runChaos({
  seed,
  jobs,
  durationMs: minutes * 60_000,
  serviceKills: Math.max(4, Math.round(jobs / 10)),
  redisRestarts: 2,
  redisKills: 1,
  s3OutagesMs,
  webhookOutagesMs,
  // After the last event: the backlog of a 5 min S3 outage drains and owed notifications are resent.
  quiesceTimeoutMs: 600_000,
  deps: { startEmulator, startFaultProxy, freePort },
  log: (line) => process.stdout.write(`chaos │ ${line}\n`),
});
const table = formatSummary(result);
const kills = Object.values(result.kills).reduce((a, b) => a + b, 0);
emitBenchSection({
  id: 'chaos',
  title: 'Chaos run: jobs under kill -9, Redis restarts and outages',
  command: `pnpm --filter @edgefleet/cli chaos ${flags}`,
  intro:
    `A node in local mode (its own redis-server with AOF \`appendfsync always\`, S3/SQS through a fault ` +
    `proxy in front of the emulator) runs ${jobs} short Python jobs with a webhook over ${minutes} min, ` +
    `while ${kills} services are killed with -9 at seeded random moments (local mode restarts them), ` +
    'Redis is restarted twice (SIGTERM) and killed once (-9), S3 answers 503 for ' +
    `${describeOutages(s3OutagesMs)} and the webhook for ${describeOutages(webhookOutagesMs)}. ` +
    'Details and the checks: [chaos.md](chaos.md).',
  tables: [{ header: ['what', 'value'], rows: summaryRows(result) }],
  notes: [
    result.problems.length
      ? `Problems:\n\n${result.problems.map((p) => `- ${p}`).join('\n')}`
      : 'Problems: none (every job SUCCEEDED, none lost, none with two terminal states, no unexplained duplicate, nothing pending, no job folder left).',
  ],
});
process.stdout.write(`node log: ${result.nodeLogFile}\n`);

if (a.write) {
  const file = fileURLToPath(new URL('../../../docs/chaos.md', import.meta.url));
  writeFileSync(
    file,
    `# Chaos run

\`pnpm --filter @edgefleet/cli chaos ${flags} --write\`: a node in
local mode (\`edgefleet local\`, its own redis-server with AOF \`appendfsync always\`, S3/SQS through a fault
proxy in front of the emulator) runs ${jobs} short Python jobs over ${minutes} min, each with a webhook, while
the driver (\`packages/cli/src/chaos/\`) kills services with -9 at seeded random moments (local mode
restarts them), restarts Redis twice (SIGTERM) and kills it once with -9 (local mode starts it again on
the same port and folder; the services reconnect), makes S3 answer 503 (SQS keeps working) for
${describeOutages(s3OutagesMs)}, and the webhook for ${describeOutages(webhookOutagesMs)}. Outages of one kind
follow one another at seeded random moments in the middle 80 % of the run; the services wait them out
(downloads, uploads and notifications retry with capped exponential backoff within their outage budgets,
\`EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS\`, \`EDGEFLEET_UPLOAD_OUTAGE_SECONDS\`,
\`EDGEFLEET_NOTIFY_OUTAGE_SECONDS\`, all longer than these outages). At the end it checks that every job
SUCCEEDED (the plan makes none fail on purpose) with exactly one terminal state, that its outputs and
manifest are in S3, that the webhook received one notification per job (or duplicates with the same
Idempotency-Key), that nothing is pending in the \`jobs\` and \`results\` consumer groups, and that no
job folder is left in \`<dataDir>/jobs\`.

${table}
${result.problems.length ? `\nProblems:\n\n${result.problems.map((p) => `- ${p}`).join('\n')}\n` : ''}
The CI-sized run is \`packages/cli/test/chaos.serial.test.ts\` (30 jobs over 100 s with a 60 s S3 outage
and a 6 s webhook outage, serial pass).
`,
  );
  process.stdout.write(`wrote ${file}\n`);
}
process.exit(result.problems.length ? 1 : 0);
