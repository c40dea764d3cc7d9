// Cluster benchmark: N nodes of ours (the real service process, dist/main.js) and N Go memberlist
// nodes (our support/go-peer, Debian memberlist 0.2.2), each cluster on its own loopback addresses, both
// with the Local profile (memberlist DefaultLocalConfig). For each N (default 10, 30, 50;
// BENCH_SIZES=10 to change) the two clusters run AT THE SAME TIME, so every window of one has the
// same machine load as the matching window of the other (the machine is shared; a ratio of two
// sequential runs mostly measured the load in between). Each cluster then goes through BENCH_KILLS
// (5) rounds of:
//   settle          SETTLE_S with no HTTP polling (the previous round's dead node reaped, the
//                   poller's garbage collected)
//   steady window   BENCH_WINDOW_S (60 s): CPU = utime + stime from /proc/<pid>/stat of every
//                   node (CPU-seconds a process was actually given, unlike wall time not inflated
//                   by waiting for a core), KiB the nodes count as sent, RSS and its private part
//                   at the end. One sample per round: the mean over the cluster's N nodes.
//   failure det.    SIGKILL of one node (a different non-seed node each round, the same moment in
//                   both clusters) until every other node lists it dead (polled every 100 ms)
//   join            a replacement node (a new name) joins through node 0: from the seed listing it
//                   alive until all N do; the cluster is back to N for the next round.
// Reported per N and implementation: median and spread (min–max) over the rounds; ratios ours ÷ Go
// of the medians. Plus a bare fastify server started the same way as our nodes (same node flags and V8 settings),
// so the report shows what the gossip node adds, and at the smallest N a CPU-starvation check: one
// node per cluster SIGSTOPped 1.5 s out of every 2 s for 20 s (a duty cycle standing in for a
// starved CPU), with every other node's view sampled every 250 ms for false deaths.
//
// Run: pnpm --filter @edgefleet/gossip-membership bench (after pnpm build).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitBenchSection, fmt, freePort } from '@edgefleet/testkit';
import { GOSSIP_NODE_ARGS } from '../src/node-args.js';
import { profileConfig } from '../src/protocol/config.js';
import { buildGoPeer, type GoPeer, startGoPeer } from '../support/go-peer.js';
import { startTsNode, type TsNode } from '../support/ts-node.js';

const SIZES = (process.env.BENCH_SIZES ?? '10,30,50').split(',').map(Number);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 60);
/** Rounds (steady window, kill, replacement join) per cluster. */
const KILLS = Number(process.env.BENCH_KILLS ?? 5);
/**
 * Quiet time between the last poll and the window: after a burst of allocation (the HTTP polling)
 * V8's memory reducer runs a few full GCs some 8 s later, a one-off that would otherwise land in
 * the window; and the node killed in the previous round is reaped from the member tables
 * GossipToTheDeadTime (15 s, Local) after it was declared dead. Same for both.
 */
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 20);
const POLL_MS = 100;
/** Starvation check: SIGSTOP for STOP_MS out of every CYCLE_MS, for STARVE_S. */
const STARVE_S = 20;
const STOP_MS = 1_500;
const CYCLE_MS = 2_000;
const STARVE_SAMPLE_MS = 250;

/**
 * Node flags of our service as it is started in production (src/node-args.ts: semi-spaces capped at
 * 1 MiB, one V8 background thread, no JIT). Passed as NODE_OPTIONS, as support/ts-node.ts does. The
 * bare fastify row gets the same.
 */
const OUR_NODE_OPTIONS = GOSSIP_NODE_ARGS.join(' ');
const packageDir = fileURLToPath(new URL('../', import.meta.url));
/** The program's V8 settings module (built), loaded into the bare fastify server as main.ts loads it. */
const v8FlagsModule = new URL('../dist/v8-flags.js', import.meta.url).href;

interface Node {
  name: string;
  /** Gossip address ip:port. */
  addr: string;
  pid: number;
  seen(): Promise<Map<string, string>>;
  bytesOut(): Promise<number>;
  kill(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
/** Resident set and its private part (Private_Clean + Private_Dirty of smaps_rollup), MiB. */
function memoryMiB(pid: number): { rss: number; priv: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kb('Rss') / 1024, priv: (kb('Private_Clean') + kb('Private_Dirty')) / 1024 };
}

/** kill(2) that ignores a process already gone. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited
  }
}

/** fetch with a deadline: a stopped or dying node must not hang the poller. */
const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);

function fromGo(p: GoPeer): Node {
  return {
    name: p.name,
    addr: `${p.addr}:${p.port}`,
    pid: p.proc.pid as number,
    seen: async () => new Map((await withTimeout(p.members(), 2000)).map((m) => [m.name, m.state])),
    bytesOut: () => p.bytesOut(),
    kill: () => p.kill(),
  };
}
/**
 * Our view through the legacy GET /members (names and states only): /v1/members also decodes every
 * member's meta, which at N = 50 nodes polled every 100 ms cost the machine more CPU than the
 * protocol and slowed what is measured. Active = alive or suspect, Dead = dead or left.
 */
async function legacyView(httpPort: number): Promise<Map<string, string>> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/members`);
  const body = (await r.json()) as {
    Active: { Name: string; State: string }[];
    Dead: { Name: string; State: string }[];
  };
  return new Map([...body.Active, ...body.Dead].map((m) => [m.Name, m.State]));
}

function fromTs(n: TsNode): Node {
  return {
    name: n.name,
    addr: `${n.ip}:${n.bindPort}`,
    pid: n.proc.proc.pid as number,
    seen: () => withTimeout(legacyView(n.httpPort), 2000),
    async bytesOut() {
      const text = await n.metrics();
      let total = 0;
      for (const m of text.matchAll(/^gossip_bytes_total\{[^}]*direction="out"[^}]*\} ([\d.e+]+)/gm))
        total += Number(m[1]);
      return total;
    },
    kill: () => n.kill(),
  };
}

/** Every node started, so an interrupted run (Ctrl-C, timeout) leaves no process behind. */
const live = new Set<{ kill(): Promise<void> }>();

async function startNode(impl: 'go' | 'ts', subnet: number, i: number, seed?: string): Promise<Node> {
  const ip = `127.0.${subnet}.${i + 1}`;
  const port = await freePort(ip);
  const name = `${impl}-${i}`;
  const node =
    impl === 'go'
      ? fromGo(await startGoPeer({ name, bind: ip, port, ...(seed ? { join: [seed] } : {}) }))
      : fromTs(
          await startTsNode({
            name,
            ip,
            bindPort: port,
            httpPort: await freePort(),
            ...(seed ? { members: [seed] } : {}),
            env: { NODE_OPTIONS: OUR_NODE_OPTIONS },
            // Ten nodes booting at once on a shared 2-core machine can take longer than a test's 15 s.
            startTimeoutMs: 90_000,
          }),
        );
  live.add(node);
  return node;
}

/** Polls until `done` holds for every node; resolves with the elapsed ms, or NaN after the timeout. */
async function timeUntil(nodes: Node[], done: (seen: Map<string, string>) => boolean, timeoutMs: number) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const views = await Promise.all(nodes.map((n) => n.seen().catch(() => new Map<string, string>())));
    if (views.every(done)) return performance.now() - t0;
    await sleep(POLL_MS);
  }
  return Number.NaN;
}

interface Starvation {
  /** (observer, healthy node) pairs seen dead at least once. */
  healthyDead: number;
  /** Observers that saw the starved node dead at least once. */
  starvedDead: number;
  /** Observers that saw the starved node suspect at least once. */
  starvedSuspect: number;
  /** ms after the last SIGCONT until every observer has the starved node alive (NaN: not within 20 s). */
  recoveredMs: number;
}

/**
 * SIGSTOP/SIGCONT duty cycle on `starved` while the others' views are sampled. The starved node is
 * not polled (a stopped process does not answer HTTP).
 */
async function starve(nodes: Node[], starved: Node, exclude: Set<string>): Promise<Starvation> {
  const observers = nodes.filter((n) => n !== starved);
  const healthyDead = new Set<string>();
  const starvedDead = new Set<string>();
  const starvedSuspect = new Set<string>();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await Promise.all(
        observers.map(async (o) => {
          const seen = await o.seen().catch(() => undefined);
          if (!seen) return;
          for (const [name, state] of seen) {
            if (name === starved.name) {
              if (state === 'dead') starvedDead.add(o.name);
              if (state === 'suspect') starvedSuspect.add(o.name);
            } else if (!exclude.has(name) && state === 'dead') healthyDead.add(`${o.name}→${name}`);
          }
        }),
      );
      await sleep(STARVE_SAMPLE_MS);
    }
  })();
  const until = performance.now() + STARVE_S * 1000;
  try {
    while (performance.now() < until) {
      signal(starved.pid, 'SIGSTOP');
      await sleep(STOP_MS);
      signal(starved.pid, 'SIGCONT');
      await sleep(CYCLE_MS - STOP_MS);
    }
  } finally {
    signal(starved.pid, 'SIGCONT');
  }
  const recoveredMs = await timeUntil(observers, (seen) => seen.get(starved.name) === 'alive', 20_000);
  running = false;
  await sampler;
  return {
    healthyDead: healthyDead.size,
    starvedDead: starvedDead.size,
    starvedSuspect: starvedSuspect.size,
    recoveredMs,
  };
}

/** Median, min and max of a sample (NaN entries, e.g. timeouts, count as +Infinity). */
interface Spread {
  median: number;
  min: number;
  max: number;
  /** Samples that timed out. */
  timeouts: number;
}
function spread(xs: number[]): Spread {
  const ok = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const timeouts = xs.length - ok.length;
  const all = [...ok, ...Array<number>(timeouts).fill(Number.POSITIVE_INFINITY)];
  const mid = all.length / 2;
  const median =
    all.length % 2 === 1
      ? (all[Math.floor(mid)] as number)
      : ((all[mid - 1] as number) + (all[mid] as number)) / 2;
  return { median, min: ok[0] ?? Number.NaN, max: all[all.length - 1] ?? Number.NaN, timeouts };
}

interface Row {
  impl: 'go' | 'ts';
  n: number;
  join: Spread;
  detect: Spread;
  cpuPerMin: Spread;
  bytesPerMin: Spread;
  rssMiB: Spread;
  privMiB: Spread;
  starvation?: Starvation;
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One implementation's cluster of N nodes, going through the rounds in step with the other's. */
class Cluster {
  readonly nodes: Node[] = [];
  readonly subnet: number;
  readonly cpu: number[] = [];
  readonly bytes: number[] = [];
  readonly rss: number[] = [];
  readonly priv: number[] = [];
  readonly detect: number[] = [];
  readonly join: number[] = [];
  /** Names of the nodes killed so far (still listed dead until reaped). */
  readonly killed = new Set<string>();
  #next: number;
  #window?: { cpu0: number[]; bytes0: number[] };

  constructor(
    readonly impl: 'go' | 'ts',
    readonly n: number,
  ) {
    this.subnet = (impl === 'go' ? 100 : 150) + SIZES.indexOf(n);
    this.#next = n;
  }

  get seed(): Node {
    return this.nodes[0] as Node;
  }

  async start(): Promise<void> {
    const seedNode = await startNode(this.impl, this.subnet, 0);
    this.nodes.push(seedNode);
    for (let i = 1; i < this.n; i += 10) {
      const batch = [];
      for (let j = i; j < Math.min(this.n, i + 10); j++)
        batch.push(startNode(this.impl, this.subnet, j, seedNode.addr));
      this.nodes.push(...(await Promise.all(batch)));
    }
    const converged = await timeUntil(
      this.nodes,
      (seen) => [...seen.values()].filter((s) => s === 'alive').length === this.n,
      120_000,
    );
    if (Number.isNaN(converged)) throw new Error(`${this.impl} ×${this.n}: cluster did not converge`);
  }

  async windowStart(): Promise<void> {
    const cpu0 = this.nodes.map((x) => cpuSeconds(x.pid));
    const bytes0 = await Promise.all(this.nodes.map((x) => x.bytesOut()));
    this.#window = { cpu0, bytes0 };
  }

  async windowEnd(seconds: number): Promise<void> {
    const w = this.#window as { cpu0: number[]; bytes0: number[] };
    const cpu1 = this.nodes.map((x) => cpuSeconds(x.pid));
    const mem = this.nodes.map((x) => memoryMiB(x.pid));
    const bytes1 = await Promise.all(this.nodes.map((x) => x.bytesOut()));
    const perMin = 60 / seconds;
    this.cpu.push(avg(cpu1.map((c, i) => (c - (w.cpu0[i] ?? 0)) * perMin)));
    this.bytes.push(avg(bytes1.map((b, i) => (b - (w.bytes0[i] ?? 0)) * perMin)));
    this.rss.push(avg(mem.map((m) => m.rss)));
    this.priv.push(avg(mem.map((m) => m.priv)));
  }

  /** SIGKILLs the round's victim (never the seed) and times until every other node lists it dead. */
  async killAndDetect(round: number): Promise<void> {
    const victim = this.nodes[1 + (round % (this.n - 1))] as Node;
    await victim.kill();
    live.delete(victim);
    this.killed.add(victim.name);
    this.nodes.splice(this.nodes.indexOf(victim), 1);
    this.detect.push(await timeUntil(this.nodes, (seen) => seen.get(victim.name) === 'dead', 60_000));
  }

  /** A replacement under a new name joins through the seed; times until every node lists it alive. */
  async replace(): Promise<void> {
    const joiner = await startNode(this.impl, this.subnet, this.#next++, this.seed.addr);
    await timeUntil([this.seed], (seen) => seen.get(joiner.name) === 'alive', 20_000);
    this.join.push(await timeUntil(this.nodes, (seen) => seen.get(joiner.name) === 'alive', 30_000));
    this.nodes.push(joiner);
    // Back to N alive everywhere before the next round settles.
    await timeUntil(
      this.nodes,
      (seen) => [...seen.values()].filter((s) => s === 'alive').length === this.n,
      60_000,
    );
  }

  async stop(): Promise<void> {
    for (const x of this.nodes) signal(x.pid, 'SIGCONT');
    await Promise.all(this.nodes.map((x) => x.kill().catch(() => undefined)));
    for (const x of this.nodes) live.delete(x);
  }

  row(starvation?: Starvation): Row {
    return {
      impl: this.impl,
      n: this.n,
      join: spread(this.join),
      detect: spread(this.detect),
      cpuPerMin: spread(this.cpu),
      bytesPerMin: spread(this.bytes),
      rssMiB: spread(this.rss),
      privMiB: spread(this.priv),
      ...(starvation ? { starvation } : {}),
    };
  }
}

/** Both implementations at N, side by side, through KILLS rounds. */
async function runSize(n: number, withStarvation: boolean): Promise<Row[]> {
  const clusters = [new Cluster('go', n), new Cluster('ts', n)];
  try {
    // Started one after the other (booting 2N processes at once on a loaded machine can outlast a
    // node's start-up timeout); from then on both run side by side.
    for (const c of clusters) await c.start();
    for (let round = 0; round < KILLS; round++) {
      await sleep(SETTLE_S * 1000);
      await Promise.all(clusters.map((c) => c.windowStart()));
      const t0 = performance.now();
      await sleep(WINDOW_S * 1000);
      const seconds = (performance.now() - t0) / 1000;
      await Promise.all(clusters.map((c) => c.windowEnd(seconds)));
      await Promise.all(clusters.map((c) => c.killAndDetect(round)));
      await Promise.all(clusters.map((c) => c.replace()));
      process.stderr.write(
        `×${n} round ${round + 1}: ${clusters
          .map(
            (c) =>
              `${c.impl} cpu ${fmt(c.cpu.at(-1) ?? Number.NaN, 3)} s/min, detect ${fmt(c.detect.at(-1) ?? Number.NaN, 0)} ms`,
          )
          .join('; ')}\n`,
      );
    }
    const starvation = withStarvation
      ? await Promise.all(clusters.map((c) => starve(c.nodes, c.nodes[2] as Node, c.killed)))
      : undefined;
    return clusters.map((c, i) => c.row(starvation?.[i]));
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

/** A bare fastify server (one route), started with our nodes' node flags and V8 settings, polled like them, then idle. */
async function bareFastify(): Promise<{ rssMiB: number; privMiB: number; cpuPerMin: number }> {
  const port = await freePort();
  const script =
    "const app = require('fastify')(); app.get('/', async () => ({ ok: true }));" +
    `app.listen({ host: '127.0.0.1', port: ${port} });`;
  // The gossip program's own V8 settings too (src/v8-flags.ts, which main.ts evaluates first).
  const proc: ChildProcess = spawn(process.execPath, ['--import', v8FlagsModule, '-e', script], {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_OPTIONS: OUR_NODE_OPTIONS },
    stdio: 'ignore',
  });
  const handle = {
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
  live.add(handle);
  try {
    const url = `http://127.0.0.1:${port}/`;
    const t0 = performance.now();
    for (;;) {
      if (
        await fetch(url).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (performance.now() - t0 > 15_000) throw new Error('bare fastify did not start');
      await sleep(50);
    }
    // Polled for 5 s as often as the bench polls a node, then the same quiet window.
    for (let i = 0; i < 5000 / POLL_MS; i++) {
      await fetch(url).then((r) => r.text());
      await sleep(POLL_MS);
    }
    const pid = proc.pid as number;
    await sleep(SETTLE_S * 1000);
    const cpu0 = cpuSeconds(pid);
    await sleep(WINDOW_S * 1000);
    const m = memoryMiB(pid);
    return { rssMiB: m.rss, privMiB: m.priv, cpuPerMin: ((cpuSeconds(pid) - cpu0) * 60) / WINDOW_S };
  } finally {
    await handle.kill();
    live.delete(handle);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    void Promise.all([...live].map((x) => x.kill().catch(() => undefined))).then(() => process.exit(130));
  });

async function main(): Promise<void> {
  const started = performance.now();
  await buildGoPeer();
  const rows: Row[] = [];
  let bare: Awaited<ReturnType<typeof bareFastify>> | undefined;
  for (const n of SIZES) {
    const t0 = performance.now();
    // The bare fastify reference runs alongside the first size (it idles through its window).
    const [sized, b] = await Promise.all([
      runSize(n, n === SIZES[0]),
      n === SIZES[0] ? bareFastify() : Promise.resolve(undefined),
    ]);
    rows.push(...sized);
    bare ??= b;
    process.stderr.write(`×${n} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const bareRow = bare as NonNullable<typeof bare>;

  const ms = (v: number) =>
    Number.isNaN(v) ? 'timeout' : Number.isFinite(v) ? fmt(Math.round(v)) : 'timeout';
  const spreadText = (x: Spread, f: (v: number) => string) =>
    `${f(x.median)} (${f(x.min)}–${f(x.max)})${x.timeouts > 0 ? `, ${x.timeouts} timed out` : ''}`;
  const label = (impl: 'go' | 'ts') => (impl === 'go' ? 'Go memberlist 0.2.2' : 'edgefleet (TS)');
  const ratio = (n: number, pick: (r: Row) => number) => {
    const go = rows.find((r) => r.n === n && r.impl === 'go');
    const ts = rows.find((r) => r.n === n && r.impl === 'ts');
    return go && ts ? pick(ts) / pick(go) : Number.NaN;
  };
  const p = profileConfig('local');
  const starved = rows.filter((r) => r.starvation);
  const wallS = (performance.now() - started) / 1000;
  const tsRows = rows.filter((r) => r.impl === 'ts');
  /** Issue goals per N: CPU ≤ 1.5× Go, detection ≤ 1.1× Go (ratios of medians), RSS median < 80 MB. */
  const goalsText = () => {
    const rssLimitMiB = 80e6 / 2 ** 20;
    const verdicts = SIZES.map((n) => {
      const cpu = ratio(n, (r) => r.cpuPerMin.median);
      const detect = ratio(n, (r) => r.detect.median);
      const rss = tsRows.find((r) => r.n === n)?.rssMiB.median ?? Number.NaN;
      const missed = [
        ...(cpu <= 1.5 ? [] : [`CPU ${fmt(cpu, 2)}×`]),
        ...(detect <= 1.1 ? [] : [`detection ${fmt(detect, 2)}×`]),
        ...(rss < rssLimitMiB ? [] : [`RSS ${fmt(rss, 1)} MiB`]),
      ];
      return `N = ${n} ${missed.length === 0 ? 'met' : `missed (${missed.join(', ')})`}`;
    });
    return (
      `Goals: CPU ≤ 1.5× Go, failure detection ≤ 1.1× Go, RSS under 80 MB (${fmt(rssLimitMiB, 1)} MiB): ` +
      `${verdicts.join('; ')}.`
    );
  };
  emitBenchSection({
    id: 'gossip-cluster',
    title: 'gossip-membership: real cluster, ours vs Go memberlist',
    command: `${process.env.BENCH_SIZES ? `BENCH_SIZES=${SIZES.join(',')} ` : ''}pnpm --filter @edgefleet/gossip-membership bench`,
    intro:
      `N nodes of each implementation on their own loopback addresses (127.0.x.y), N = ${SIZES.join(', ')}, ` +
      `the two clusters of the same N running at the same time, with equal settings: memberlist's Local profile (probe ` +
      `${p.probeIntervalMs} ms, probe timeout ${p.probeTimeoutMs} ms, ${p.indirectChecks} indirect check, ` +
      `gossip ${p.gossipIntervalMs} ms to ${p.gossipNodes} nodes, retransmit mult ${p.retransmitMult}, ` +
      `suspicion mult ${p.suspicionMult} / max ${p.suspicionMaxTimeoutMult}, push/pull ${p.pushPullIntervalMs / 1000} s ` +
      `scaled with N), no encryption, compression on. Go: support/go-peer (Debian memberlist 0.2.2), ` +
      `\`-quiet\`. Ours: the service process \`node dist/main.js\` with NODE_OPTIONS=${OUR_NODE_OPTIONS} ` +
      `(as started in production) and the program's own V8 settings (src/v8-flags.ts: --no-opt --no-maglev --optimize-for-size), log level warn, Redis unreachable (its load poll then only ` +
      `reconnects every 2 s). Nodes join through node 0; views are read over each node's HTTP API. ` +
      `Each cluster goes through ${KILLS} rounds: ${SETTLE_S} s with no HTTP polling, a ${WINDOW_S} s steady window, ` +
      `SIGKILL of one node (a different one each round, at the same moment in both clusters) timed until every ` +
      `other node lists it dead, and a replacement node joining under a new name, timed until all list it alive. ` +
      `CPU is CPU-seconds (utime + stime from /proc/<pid>/stat), not wall time: on this shared 2-core machine ` +
      `(wall time of this run ${fmt(wallS, 0)} s) a process waiting for a core is not charged for the wait, ` +
      `and both clusters' windows see the same load because they run at the same time.`,
    tables: [
      {
        header: [
          'nodes',
          'implementation',
          'CPU s/node/min',
          'failure detection ms',
          'join convergence ms',
          'KiB sent/node/min',
          'RSS MiB/node',
          'private MiB/node',
        ],
        rows: [
          ...rows.map((r) => [
            r.n,
            label(r.impl),
            spreadText(r.cpuPerMin, (v) => fmt(v, 3)),
            spreadText(r.detect, ms),
            spreadText(r.join, ms),
            fmt(r.bytesPerMin.median / 1024, 1),
            `${fmt(r.rssMiB.median, 1)} (max ${fmt(r.rssMiB.max, 1)})`,
            fmt(r.privMiB.median, 0),
          ]),
          [
            1,
            'bare fastify server (same node flags, idle)',
            fmt(bareRow.cpuPerMin, 3),
            '–',
            '–',
            '–',
            fmt(bareRow.rssMiB, 0),
            fmt(bareRow.privMiB, 0),
          ],
        ],
        note:
          `Each cell: median over the ${KILLS} rounds, in brackets min–max. CPU: utime + stime per node over ` +
          `the ${WINDOW_S} s window, scaled to a minute, mean over the cluster's N nodes (one sample per round). ` +
          'Failure detection: SIGKILL of a node → every other node lists it dead. Join convergence: from the ' +
          'seed listing a new node alive until all N nodes do. KiB sent: UDP + TCP bytes the node counts ' +
          'itself (median). RSS at the end of each window (median, and the largest); private = Private_Clean + ' +
          'Private_Dirty of smaps_rollup (USS), the rest being the node or Go binary and shared libraries, ' +
          `mapped once for all processes of a host. Views are polled every ${POLL_MS} ms, so times are ±${POLL_MS} ms.`,
      },
      {
        title: 'Ours ÷ Go, same N, same run (ratio of the medians)',
        header: ['nodes', 'CPU ×', 'failure detection ×', 'join median ×', 'KiB sent ×', 'RSS ×'],
        rows: SIZES.map((n) => [
          n,
          fmt(
            ratio(n, (r) => r.cpuPerMin.median),
            2,
          ),
          fmt(
            ratio(n, (r) => r.detect.median),
            2,
          ),
          fmt(
            ratio(n, (r) => r.join.median),
            2,
          ),
          fmt(
            ratio(n, (r) => r.bytesPerMin.median),
            2,
          ),
          fmt(
            ratio(n, (r) => r.rssMiB.median),
            2,
          ),
        ]),
        note:
          `What a gossip node adds over a bare fastify server: RSS +${fmt(avg(tsRows.map((r) => r.rssMiB.median)) - bareRow.rssMiB, 0)} MiB, ` +
          `private +${fmt(avg(tsRows.map((r) => r.privMiB.median)) - bareRow.privMiB, 0)} MiB (mean over N). ` +
          goalsText(),
      },
      {
        title: `CPU starvation, real sockets: one node SIGSTOPped ${STOP_MS} ms of every ${CYCLE_MS} ms for ${STARVE_S} s`,
        header: [
          'nodes',
          'implementation',
          'false deaths of healthy nodes (observer→node pairs)',
          'observers that saw the starved node dead',
          'observers that saw it suspect',
          'all see it alive again after',
        ],
        rows: starved.map((r) => {
          const s = r.starvation as Starvation;
          return [
            r.n,
            label(r.impl),
            s.healthyDead,
            s.starvedDead,
            s.starvedSuspect,
            Number.isNaN(s.recoveredMs) ? 'not within 20 s' : `${ms(s.recoveredMs)} ms`,
          ];
        }),
        note:
          `After the last round (the killed nodes excluded), both clusters at once, every other node's view sampled ` +
          `every ${STARVE_SAMPLE_MS} ms. A stopped node answers nothing, so it is suspected each cycle ` +
          'and refutes on waking; it is declared dead only if a stop outlasts the suspicion timeout.',
      },
    ],
  });
}

await main();
