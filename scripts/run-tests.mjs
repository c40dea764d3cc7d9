#!/usr/bin/env node
// Runs the whole test suite in two passes and prints one plain total.
//  1. every `*.test.ts` in parallel (files spread over the cores);
//  2. every `*.serial.test.ts` one file at a time (socket-timing tests: gossip interop, partitions),
//     so CPU-heavy tests cannot starve their deadlines.
// The last line is `N passed, N failed` summed from vitest's JSON reports, so a run that executed no
// test is visible. Extra arguments are passed to vitest (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, '.test-output');
mkdirSync(outDir, { recursive: true });
const extra = process.argv.slice(2);
const vitest = join(root, 'node_modules', '.bin', 'vitest');

const passes = [
  { name: 'parallel', env: {}, args: [] },
  { name: 'serial', env: { EDGEFLEET_TEST_SERIAL: '1' }, args: [] },
];
// 3. with EDGEFLEET_CONTAINER_TEST=1 and no filter, the container tests (docker/test/*.container.ts):
//    stand-in bases, the four images built with podman, the dev stack up with docker-compose against
//    podman's API, a job through it (docker/README.md "Build and run with podman"), then the four
//    linux/arm64 images built and started under emulation (arm64.container.ts;
//    EDGEFLEET_CONTAINER_TEST_ARM64=0 leaves them out). Bounded at CONTAINER_PASS_MIN: CI has 90 min
//    for everything and the other passes take about 20. Stand-in bases are kept in
//    /var/cache/edgefleet-ci (EDGEFLEET_CI_CACHE) between runs and built from scratch when absent
//    (arm64: debootstrap under emulation, about 8 min on a loaded 2-core machine).
const CONTAINER_PASS_MIN = process.env.EDGEFLEET_CONTAINER_TEST_ARM64 === '0' ? 45 : 65;
if (process.env.EDGEFLEET_CONTAINER_TEST === '1' && extra.length === 0) {
  passes.push({
    name: 'containers',
    env: {},
    args: ['--config', 'docker/test/vitest.container.config.ts'],
    timeoutMs: CONTAINER_PASS_MIN * 60_000,
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
let broken = false;
for (const pass of passes) {
  const report = join(outDir, `vitest-${pass.name}.json`);
  rmSync(report, { force: true });
  console.log(`\n=== tests: ${pass.name} pass ===`);
  const started = Date.now();
  const r = spawnSync(
    vitest,
    [
      'run',
      '--passWithNoTests',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...pass.args,
      ...extra,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...pass.env },
      ...(pass.timeoutMs ? { timeout: pass.timeoutMs, killSignal: 'SIGTERM' } : {}),
    },
  );
  console.log(`step tests-${pass.name}: ${Math.round((Date.now() - started) / 1000)} s`);
  if (!existsSync(report)) {
    console.error(`vitest (${pass.name}) wrote no report (exit ${r.status})`);
    broken = true;
    continue;
  }
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed += j.numPassedTests ?? 0;
  failed += j.numFailedTests ?? 0;
  skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  // A file that fails to load counts no test but fails the suite.
  const fileFailures = (j.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  ).length;
  if (fileFailures) {
    console.error(`${fileFailures} test file(s) failed to load in the ${pass.name} pass`);
    failed += fileFailures;
  }
  if (r.status !== 0 && (j.numFailedTests ?? 0) === 0 && !fileFailures) broken = true;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || broken || passed === 0 ? 1 : 0);
