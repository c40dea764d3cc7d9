// What the environment cache saves: the cost of `ensure` on a hit, on a miss (a build), and the
// naive flow it replaces (a fresh `python -m venv` + `pip install -r` of the same local wheels),
// measured in the same run on this machine. No network: the wheels are built here.
//
//   pnpm --filter @edgefleet/job-executor bench:env      (BENCH_RUNS=5 BENCH_HIT_RUNS=30 to change)
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWheel, emitBenchSection } from '@edgefleet/testkit';
import { createEnvironmentManager, type EnvironmentRequest } from '../src/env/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HIT_RUNS = Number(process.env.BENCH_HIT_RUNS ?? 20);
const WHEELS = 8;
const PYTHON = process.env.EDGEFLEET_PYTHON_BIN ?? '/usr/bin/python3';

const run = (argv: string[], cwd: string) =>
  new Promise<void>((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    execFile(
      cmd,
      args,
      { cwd, timeout: 300_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } },
      (e, _o, err) => (e ? reject(new Error(`${argv.join(' ')}: ${err || e.message}`)) : resolve()),
    );
  });

async function time(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const root = await mkdtemp(join(tmpdir(), 'edgefleet-bench-env-'));
  try {
    const ws = join(root, 'work');
    await mkdir(join(ws, 'wheels'), { recursive: true });
    const names: string[] = [];
    for (let i = 0; i < WHEELS; i++) {
      const name = `bench-lib-${i}`;
      names.push(name);
      await buildWheel(
        { name, version: '1.0', modules: { [`bench_lib_${i}/__init__.py`]: `X = ${i}\n`.repeat(200) } },
        join(ws, 'wheels'),
      );
    }
    await writeFile(join(ws, 'requirements.txt'), `-f ./wheels\n${names.join('\n')}\n`);
    const req = (i: number): EnvironmentRequest => ({
      jobId: `bench-${i}`,
      workspace: ws,
      requirementsFile: 'requirements.txt',
      systemSitePackages: false,
      timeoutMs: 300_000,
      logFile: join(root, 'logs', `install-${i}.log`),
    });
    const rows: [string, number[]][] = [];

    const naive = await time(RUNS, async (i) => {
      const venv = join(root, `naive-${i}`);
      await run([PYTHON, '-m', 'venv', venv], root);
      await run(
        [
          join(venv, 'bin', 'python'),
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          '--no-index',
          '-r',
          'requirements.txt',
        ],
        ws,
      );
      await rm(venv, { recursive: true, force: true });
    });
    rows.push(['naive: `python -m venv` + `pip install -r` (every job)', naive]);

    for (const seedPip of [true, false]) {
      const miss = await time(RUNS, async (i) => {
        const m = createEnvironmentManager({
          cacheDir: join(root, `miss-${seedPip}-${i}`),
          maxCacheBytes: 1 << 30,
          seedPip,
          pip: { noIndex: true },
        });
        const r = await m.ensure(req(i));
        if (!r.ok || r.hit) throw new Error(`expected a miss: ${JSON.stringify(r)}`);
      });
      rows.push([`cache miss: ensure builds (seedPip=${seedPip})`, miss]);
    }

    const cached = createEnvironmentManager({
      cacheDir: join(root, 'miss-true-0'),
      maxCacheBytes: 1 << 30,
      pip: { noIndex: true },
    });
    const hit = await time(HIT_RUNS, async (i) => {
      const r = await cached.ensure(req(1000 + i));
      if (!r.ok || !r.hit) throw new Error(`expected a hit: ${JSON.stringify(r)}`);
    });
    rows.push(['cache hit: ensure (hash workspace, lock, no pip)', hit]);

    const sized = RUNS !== 3 || HIT_RUNS !== 20;
    emitBenchSection({
      id: 'env-cache',
      title: 'job-executor: environment cache hit vs miss',
      command: `${sized ? `BENCH_RUNS=${RUNS} BENCH_HIT_RUNS=${HIT_RUNS} ` : ''}pnpm --filter @edgefleet/job-executor bench:env`,
      intro:
        `The cost of the executor's \`ensure\` for a requirements file of ${WHEELS} local wheels (built ` +
        `here, \`pip --no-index\`: no network), with ${PYTHON}: misses ${RUNS} runs each, hits ${HIT_RUNS} ` +
        'runs, next to the naive flow the cache replaces. Resize with BENCH_RUNS and BENCH_HIT_RUNS.',
      tables: [
        {
          header: ['case', 'runs', 'p50 ms', 'mean ms'],
          rows: rows.map(([name, xs]) => [name, xs.length, p50(xs).toFixed(1), mean(xs).toFixed(1)]),
          note:
            'Miss = a new environment is built (venv + pip install); seedPip=false builds it without a pip ' +
            'of its own. Hit = hash the requirements and wheels, take the lock, no pip.',
        },
      ],
      notes: [`A hit is ${(p50(naive) / p50(hit)).toFixed(0)}× faster than the naive flow (p50).`],
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
