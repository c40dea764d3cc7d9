#!/usr/bin/env node
// `pnpm bench`: runs every benchmark one after the other on this machine and regenerates
// docs/benchmarks.md from what they measured.
//
//   pnpm bench                          every section (about 35 minutes on a 2-core machine)
//   pnpm bench --only pipeline,memory   re-measure some sections, keep the others' last results
//   pnpm bench --list                   the sections and their commands
//   pnpm bench --report                 measure nothing: rewrite docs/benchmarks.md from docs/bench-results/
//   EDGEFLEET_BENCH_BASELINE=<commit> pnpm bench --only pipeline
//                                       the pipeline section also compares warm jobs with a node built
//                                       from that commit, interleaved in the same run (packages/cli/bench/pipeline.ts)
//
// Each benchmark describes its results as a BenchSection (packages/testkit/src/bench-report.ts) and
// writes it to $EDGEFLEET_BENCH_OUT/<id>.json. The sections are kept in docs/bench-results/ (so a
// partial re-run keeps the rest) together with the machine they were measured on, and the report is
// assembled from there. Benchmarks run one at a time: two at once would measure each other.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'docs', 'bench-results');
const reportFile = join(root, 'docs', 'benchmarks.md');

/** In report order. `args` run through pnpm from the repository root. */
const SECTIONS = [
  { id: 'pipeline', args: ['--filter', '@edgefleet/cli', 'bench:pipeline'] },
  { id: 'memory', args: ['--filter', '@edgefleet/cli', 'bench:memory'] },
  { id: 'redis-memory', args: ['--filter', '@edgefleet/cli', 'bench:redis-memory'] },
  { id: 'receiver', args: ['--filter', '@edgefleet/job-receiver', 'bench'] },
  { id: 'env-cache', args: ['--filter', '@edgefleet/job-executor', 'bench:env'] },
  { id: 'executor', args: ['--filter', '@edgefleet/job-executor', 'bench'] },
  { id: 'uploader', args: ['--filter', '@edgefleet/result-uploader', 'bench'] },
  { id: 'gossip-cluster', args: ['--filter', '@edgefleet/gossip-membership', 'bench'] },
  { id: 'gossip-sim', args: ['--filter', '@edgefleet/gossip-membership', 'bench:sim'] },
  { id: 'gossip-codec', args: ['--filter', '@edgefleet/gossip-membership', 'bench:codec'] },
  { id: 'chaos', args: ['--filter', '@edgefleet/cli', 'chaos', '--jobs', '300', '--write'] },
  // The container test: stand-in bases, the four images built with podman, the stack up, one job.
  { id: 'images', args: ['exec', 'vitest', 'run', '--config', 'docker/test/vitest.container.config.ts'] },
];

const argv = process.argv.slice(2);
if (argv.includes('--list')) {
  for (const s of SECTIONS) console.log(`${s.id.padEnd(16)} pnpm ${s.args.join(' ')}`);
  process.exit(0);
}
const onlyAt = argv.indexOf('--only');
/** `--report` is `--only` with no section: every section keeps its last results. */
const only = argv.includes('--report')
  ? new Set()
  : onlyAt >= 0
    ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean))
    : null;
if (only) {
  const unknown = [...only].filter((id) => !SECTIONS.some((s) => s.id === id));
  if (unknown.length) {
    console.error(
      `unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.id).join(', ')}`,
    );
    process.exit(2);
  }
}

/** Output of a version command, or `not installed`. */
function version(cmd, args, pick = (s) => s.trim().split('\n')[0]) {
  try {
    return pick(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return 'not installed';
  }
}

function machine() {
  const cpus = os.cpus();
  const fauxqs = join(root, 'packages/testkit/node_modules/fauxqs/package.json');
  return {
    cpu: `${cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown'} × ${cpus.length}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: version('redis-server', ['--version'], (s) => s.match(/v=(\S+)/)?.[1] ?? s.trim()),
    python: version('/usr/bin/python3', ['--version']),
    go: version('go', ['version']),
    // dpkg-query's own format syntax, not a template placeholder.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format
    memberlist: version('dpkg-query', ['-W', '-f', '${Version}', 'golang-github-hashicorp-memberlist-dev']),
    fauxqs: existsSync(fauxqs) ? JSON.parse(readFileSync(fauxqs, 'utf8')).version : 'unknown',
  };
}

function runSection(section, outDir) {
  return new Promise((resolve) => {
    const started = Date.now();
    const load = os.loadavg()[0];
    console.log(`\n=== ${section.id}: pnpm ${section.args.join(' ')}`);
    const child = spawn('pnpm', section.args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, EDGEFLEET_BENCH_OUT: outDir },
    });
    child.on('exit', (code, signal) =>
      resolve({ code: code ?? 1, signal, seconds: (Date.now() - started) / 1000, loadBefore: load }),
    );
  });
}

/** The section as Markdown, with when and under what load it was measured. */
function withRun(s) {
  if (!s.run) return s;
  const earlier = s.run.machineId !== currentRunId ? ', in an earlier run than this report' : '';
  const when = `Measured ${s.run.at} in ${Math.round(s.run.seconds)} s (load average ${s.run.loadBefore.toFixed(1)} when it started)${earlier}.`;
  return { ...s, intro: s.intro ? `${when}\n\n${s.intro}` : when };
}

mkdirSync(resultsDir, { recursive: true });
const machineFile = join(resultsDir, 'machine.json');
const previousMachine = existsSync(machineFile) ? JSON.parse(readFileSync(machineFile, 'utf8')) : null;
const thisMachine = { ...machine(), at: new Date().toISOString() };
const currentRunId = thisMachine.at;

console.log('building…');
execFileSync('pnpm', ['build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });

const outDir = mkdtempSync(join(os.tmpdir(), 'edgefleet-bench-'));
const failures = [];
for (const section of SECTIONS) {
  if (only && !only.has(section.id)) continue;
  const r = await runSection(section, outDir);
  const produced = join(outDir, `${section.id}.json`);
  const run = {
    at: new Date().toISOString(),
    seconds: r.seconds,
    loadBefore: r.loadBefore,
    machineId: currentRunId,
  };
  if (r.code !== 0 || !existsSync(produced)) {
    failures.push(
      `${section.id}: exit ${r.signal ?? r.code}${existsSync(produced) ? '' : ', no section written'}`,
    );
    const stale = join(resultsDir, `${section.id}.json`);
    const failed = {
      id: section.id,
      title: section.id,
      command: `pnpm ${section.args.join(' ')}`,
      ...(existsSync(produced) ? JSON.parse(readFileSync(produced, 'utf8')) : {}),
      run,
    };
    failed.notes = [
      ...(failed.notes ?? []),
      `**This run failed** (exit ${r.signal ?? r.code}); see its output.`,
    ];
    writeFileSync(stale, `${JSON.stringify(failed, null, 2)}\n`);
    continue;
  }
  const section_ = JSON.parse(readFileSync(produced, 'utf8'));
  writeFileSync(join(resultsDir, `${section.id}.json`), `${JSON.stringify({ ...section_, run }, null, 2)}\n`);
}
rmSync(outDir, { recursive: true, force: true });

// The machine is recorded per full run; a partial run on another machine would mix numbers.
const m = only && previousMachine ? previousMachine : thisMachine;
if (!only) writeFileSync(machineFile, `${JSON.stringify(thisMachine, null, 2)}\n`);

// Built above; the same formatter the benchmarks print with.
const { sectionMarkdown } = await import('../packages/testkit/dist/bench-report.js');
const sections = SECTIONS.map((s) => join(resultsDir, `${s.id}.json`))
  .filter((f) => existsSync(f))
  .map((f) => JSON.parse(readFileSync(f, 'utf8')));

const header = `# Benchmarks

Generated by \`pnpm bench\` (scripts/bench-report.mjs), which builds the project, runs every benchmark
below one after the other and writes this file; \`pnpm bench --only <id,…>\` re-measures some sections.
Each section names the command that reproduces it alone. Every comparison inside a table was measured
in the same run, against the same emulator and Redis.

**Machine** (full run of ${m.at}): ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}; Node.js ${m.node}, Redis ${m.redis},
${m.python}, ${m.go}, HashiCorp memberlist ${m.memberlist} (Debian), fauxqs ${m.fauxqs} as S3 and SQS, all on
loopback. This is a shared 2-core development machine, not a Jetson: absolute numbers are for
comparison with each other; rerun on the device to size it.

Sections: ${sections
  .map(
    (s) =>
      `[${s.title}](#${s.title
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replaceAll(' ', '-')})`,
  )
  .join(' · ')}
`;

writeFileSync(reportFile, `${[header, ...sections.map((s) => sectionMarkdown(withRun(s)))].join('\n')}\n`);
console.log(`\nwrote ${reportFile}`);
if (failures.length) {
  console.error(`failed sections:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
