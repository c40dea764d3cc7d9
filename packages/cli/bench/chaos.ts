// The large chaos run: a few hundred jobs through a local node while services are killed with -9,
// Redis is restarted twice and killed once, and S3 and the webhook fail for a while.
//   pnpm --filter @edgefleet/cli chaos [--jobs 300] [--seed N] [--minutes 6] [--write]
// --write puts the summary in docs/chaos.md. Exit code 1 when a job was lost or duplicated unexplained.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitBenchSection, freePort, startEmulator, startFaultProxy } from '@edgefleet/testkit';
import { formatSummary, summaryRows } from '../src/chaos/plan.js';
import { runChaos } from '../src/chaos/run.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const jobs = arg('jobs', 300);
const seed = arg('seed', Date.now() % 100_000);
const minutes = arg('minutes', 6);

const result = await runChaos({
  seed,
  jobs,
  durationMs: minutes * 60_000,
  serviceKills: Math.max(4, Math.round(jobs / 10)),
  redisRestarts: 2,
  redisKills: 1,
  s3Outages: 2,
  webhookOutages: 2,
  outageMs: 10_000,
  quiesceTimeoutMs: 300_000,
  deps: { startEmulator, startFaultProxy, freePort },
  log: (line) => process.stdout.write(`chaos │ ${line}\n`),
});
const table = formatSummary(result);
const kills = Object.values(result.kills).reduce((a, b) => a + b, 0);
emitBenchSection({
  id: 'chaos',
  title: 'Chaos run: jobs under kill -9, Redis restarts and outages',
  command: `pnpm --filter @edgefleet/cli chaos --jobs ${jobs} --seed ${seed} --minutes ${minutes}`,
  intro:
    `A node in local mode (its own redis-server with AOF \`appendfsync always\`, S3/SQS through a fault ` +
    `proxy in front of the emulator) runs ${jobs} short Python jobs with a webhook over ${minutes} min, ` +
    `while ${kills} services are killed with -9 at seeded random moments (local mode restarts them), ` +
    'Redis is restarted twice (SIGTERM) and killed once (-9), and S3 and the webhook answer 503 for ' +
    '10 s twice each. Details and the checks: [chaos.md](chaos.md).',
  tables: [{ header: ['what', 'value'], rows: summaryRows(result) }],
  notes: [
    result.problems.length
      ? `Problems:\n\n${result.problems.map((p) => `- ${p}`).join('\n')}`
      : 'Problems: none (no job lost, none with two terminal states, no unexplained duplicate, nothing pending).',
    'FAILED jobs are expected: a job whose input download meets the S3 outage fails with DOWNLOAD_FAILED.',
  ],
});
process.stdout.write(`node log: ${result.nodeLogFile}\n`);

if (argv.includes('--write')) {
  const file = fileURLToPath(new URL('../../../docs/chaos.md', import.meta.url));
  writeFileSync(
    file,
    `# Chaos run

\`pnpm --filter @edgefleet/cli chaos --jobs ${jobs} --seed ${seed} --minutes ${minutes} --write\`: a node in
local mode (\`edgefleet local\`, its own redis-server with AOF \`appendfsync always\`, S3/SQS through a fault
proxy in front of the emulator) runs ${jobs} short Python jobs, each with a webhook, while the driver
(\`packages/cli/src/chaos/\`) kills services with -9 at seeded random moments (local mode restarts
them), restarts Redis twice (SIGTERM) and kills it once with -9 (local mode starts it again on the same
port and folder; the services reconnect), and makes S3 and the webhook answer 503 for a while. At the
end it checks that every job has exactly one terminal state, that every SUCCEEDED job has its outputs
and manifest in S3, that the webhook received one notification per job (or duplicates with the same
Idempotency-Key), and that nothing is pending in the \`jobs\` and \`results\` consumer groups.

${table}
${result.problems.length ? `\nProblems:\n\n${result.problems.map((p) => `- ${p}`).join('\n')}\n` : ''}
FAILED jobs are expected: a job whose input download meets the S3 outage fails with DOWNLOAD_FAILED
(its results, notification and terminal state are still checked like any other).

The CI-sized run is \`packages/cli/test/chaos.serial.test.ts\` (30 jobs, serial pass).
`,
  );
  process.stdout.write(`wrote ${file}\n`);
}
process.exit(result.verdict.lost.length || result.verdict.unexplainedDuplicates.length ? 1 : 0);
