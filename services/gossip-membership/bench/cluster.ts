// Cluster benchmark: N nodes of ours (the real service process, dist/main.js) and N Go memberlist
// nodes (our test/go-peer, Debian memberlist 0.2.2), each cluster on its own loopback addresses, both
// with the Local profile (memberlist DefaultLocalConfig), in one run. For each N (default 10, 30, 50;
// BENCH_SIZES=10 to change) and implementation it measures:
//   join            from the seed seeing a new node alive until all N nodes do (polled every 100 ms;
//                   median and max of 3 joins)
//   failure det.    from SIGKILL of one node until every other node lists it dead (polled every 100 ms)
//   CPU s/node/min, KiB sent/node/min   over a quiet steady-state window (BENCH_WINDOW_S, 15 s):
//                   utime + stime from /proc, bytes the node itself counts (UDP + TCP, sent)
//   RSS/node        at the end of the window, MiB, and the private part of it (USS: pages of this
//                   process alone; the rest is the node/Go binary and libraries, shared)
// plus, in the same run, a bare fastify server started the same way as our nodes (same node flags),
// so the report shows what the gossip node adds, and at the smallest N a CPU-starvation check: one
// node SIGSTOPped 1.5 s out of every 2 s for 20 s (a duty cycle standing in for a starved CPU), with
// every other node's view sampled every 250 ms for false deaths.
//
// Run: pnpm --filter @edgefleet/gossip-membership bench (after pnpm build).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitBenchSection, fmt, freePort } from '@edgefleet/testkit';
import { profileConfig } from '../src/protocol/config.js';
import { buildGoPeer, type GoPeer, startGoPeer } from '../test/helpers/go-peer.js';
import { startTsNode, type TsNode } from '../test/helpers/ts-node.js';

const SIZES = (process.env.BENCH_SIZES ?? '10,30,50').split(',').map(Number);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 15);
/**
 * Quiet time between the last poll and the window: after a burst of allocation (the HTTP polling
 * until convergence) V8's memory reducer runs a few full GCs some 8 s later, a one-off that would
 * otherwise land in a 15 s window (~0.1 CPU s/min for a bare fastify server). Same for both.
 */
const SETTLE_S = 10;
const POLL_MS = 100;
const JOIN_TRIALS = 3;
/** Starvation check: SIGSTOP for STOP_MS out of every CYCLE_MS, for STARVE_S. */
const STARVE_S = 20;
const STOP_MS = 1_500;
const CYCLE_MS = 2_000;
const STARVE_SAMPLE_MS = 250;

/**
 * Node flags of our service as it is started in production (package.json `start`,
 * packages/cli/src/local/services.ts): semi-spaces capped at 1 MiB, one V8 background thread. Passed as NODE_OPTIONS because
 * the test helper starts `node dist/main.js` itself. The bare fastify row gets the same.
 */
const OUR_NODE_OPTIONS = '--max-semi-space-size=1 --v8-pool-size=1';
const packageDir = fileURLToPath(new URL('../', import.meta.url));

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

interface Row {
  impl: 'go' | 'ts';
  n: number;
  joinMs: number;
  joinMaxMs: number;
  detectMs: number;
  cpuPerMin: number;
  bytesPerMin: number;
  rssMiB: number;
  privMiB: number;
  starvation?: Starvation;
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function runCluster(impl: 'go' | 'ts', n: number, withStarvation: boolean): Promise<Row> {
  const subnet = (impl === 'go' ? 100 : 150) + SIZES.indexOf(n);
  const nodes: Node[] = [];
  try {
    const seedNode = await startNode(impl, subnet, 0);
    nodes.push(seedNode);
    const seed = seedNode.addr;
    for (let i = 1; i < n; i += 10) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 10); j++) batch.push(startNode(impl, subnet, j, seed));
      nodes.push(...(await Promise.all(batch)));
    }
    const converged = await timeUntil(
      nodes,
      (seen) => [...seen.values()].filter((s) => s === 'alive').length === n,
      90_000,
    );
    if (Number.isNaN(converged)) throw new Error(`${impl} ×${n}: cluster did not converge`);

    // Quiet steady state: no HTTP polling during the window (the byte counters are read at its ends).
    await sleep(SETTLE_S * 1000);
    const cpu0 = nodes.map((x) => cpuSeconds(x.pid));
    const bytes0 = await Promise.all(nodes.map((x) => x.bytesOut()));
    await sleep(WINDOW_S * 1000);
    const cpu1 = nodes.map((x) => cpuSeconds(x.pid));
    const mem = nodes.map((x) => memoryMiB(x.pid));
    const bytes1 = await Promise.all(nodes.map((x) => x.bytesOut()));
    const perMin = 60 / WINDOW_S;
    const cpuPerMin = avg(cpu1.map((c, i) => (c - (cpu0[i] ?? 0)) * perMin));
    const bytesPerMin = avg(bytes1.map((b, i) => (b - (bytes0[i] ?? 0)) * perMin));

    // Join: JOIN_TRIALS more nodes, one at a time; time from the seed seeing each until everybody
    // does. Median reported: with RetransmitMult 2 an epidemic can die out and leave the rest to
    // push/pull (up to 15 s), so single samples vary a lot.
    const joins: number[] = [];
    for (let t = 0; t < JOIN_TRIALS; t++) {
      const joiner = await startNode(impl, subnet, n + t, seed);
      await timeUntil([seedNode], (seen) => seen.get(joiner.name) === 'alive', 20_000);
      joins.push(await timeUntil(nodes, (seen) => seen.get(joiner.name) === 'alive', 30_000));
      nodes.push(joiner);
    }
    joins.sort((a, b) => a - b);

    // Failure detection: SIGKILL a non-seed node.
    const victim = nodes[1] as Node;
    await victim.kill();
    const rest = nodes.filter((x) => x !== victim);
    const detectMs = await timeUntil(rest, (seen) => seen.get(victim.name) === 'dead', 60_000);

    const starvation = withStarvation
      ? await starve(rest, rest[2] as Node, new Set([victim.name]))
      : undefined;
    return {
      impl,
      n,
      joinMs: joins[Math.floor(joins.length / 2)] as number,
      joinMaxMs: joins[joins.length - 1] as number,
      detectMs,
      cpuPerMin,
      bytesPerMin,
      rssMiB: avg(mem.map((m) => m.rss)),
      privMiB: avg(mem.map((m) => m.priv)),
      ...(starvation ? { starvation } : {}),
    };
  } finally {
    for (const x of nodes) signal(x.pid, 'SIGCONT');
    await Promise.all(nodes.map((x) => x.kill().catch(() => undefined)));
    for (const x of nodes) live.delete(x);
  }
}

/** A bare fastify server (one route), started with our nodes' node flags, polled like them, then idle. */
async function bareFastify(): Promise<{ rssMiB: number; privMiB: number; cpuPerMin: number }> {
  const port = await freePort();
  const script =
    "const app = require('fastify')(); app.get('/', async () => ({ ok: true }));" +
    `app.listen({ host: '127.0.0.1', port: ${port} });`;
  const proc: ChildProcess = spawn(process.execPath, ['-e', script], {
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
  const bare = await bareFastify();
  const rows: Row[] = [];
  for (const n of SIZES)
    for (const impl of ['go', 'ts'] as const) {
      const t0 = performance.now();
      rows.push(await runCluster(impl, n, n === SIZES[0]));
      process.stderr.write(`${impl} ×${n} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }

  const ms = (v: number) => (Number.isNaN(v) ? 'timeout' : fmt(Math.round(v)));
  const label = (impl: 'go' | 'ts') => (impl === 'go' ? 'Go memberlist 0.2.2' : 'edgefleet (TS)');
  const ratio = (n: number, pick: (r: Row) => number) => {
    const go = rows.find((r) => r.n === n && r.impl === 'go');
    const ts = rows.find((r) => r.n === n && r.impl === 'ts');
    return go && ts ? pick(ts) / pick(go) : Number.NaN;
  };
  const p = profileConfig('local');
  const starved = rows.filter((r) => r.starvation);
  const wallS = (performance.now() - started) / 1000;
  emitBenchSection({
    id: 'gossip-cluster',
    title: 'gossip-membership: real cluster, ours vs Go memberlist',
    command: `${process.env.BENCH_SIZES ? `BENCH_SIZES=${SIZES.join(',')} ` : ''}pnpm --filter @edgefleet/gossip-membership bench`,
    intro:
      `N nodes of each implementation on their own loopback addresses (127.0.x.y), one implementation ` +
      `at a time, N = ${SIZES.join(', ')}, with equal settings: memberlist's Local profile (probe ` +
      `${p.probeIntervalMs} ms, probe timeout ${p.probeTimeoutMs} ms, ${p.indirectChecks} indirect check, ` +
      `gossip ${p.gossipIntervalMs} ms to ${p.gossipNodes} nodes, retransmit mult ${p.retransmitMult}, ` +
      `suspicion mult ${p.suspicionMult} / max ${p.suspicionMaxTimeoutMult}, push/pull ${p.pushPullIntervalMs / 1000} s ` +
      `scaled with N), no encryption, compression on. Go: test/go-peer (Debian memberlist 0.2.2), ` +
      `\`-quiet\`. Ours: the service process \`node dist/main.js\` with NODE_OPTIONS=${OUR_NODE_OPTIONS} ` +
      `(as started in production), log level warn, Redis unreachable (its load poll then only ` +
      `reconnects every 2 s). Nodes join through node 0; views are read over each node's HTTP API. ` +
      `Steady window ${WINDOW_S} s with no HTTP polling, starting ${SETTLE_S} s after the last poll. Wall time of this run ${fmt(wallS, 0)} s on ` +
      `a shared 2-core machine: CPU figures are comparable within the run, not across runs.`,
    tables: [
      {
        header: [
          'nodes',
          'implementation',
          'join convergence ms (median / max of 3)',
          'failure detection ms',
          'CPU s/node/min',
          'KiB sent/node/min',
          'RSS MiB/node (private)',
        ],
        rows: [
          ...rows.map((r) => [
            r.n,
            label(r.impl),
            `${ms(r.joinMs)} / ${ms(r.joinMaxMs)}`,
            ms(r.detectMs),
            fmt(r.cpuPerMin, 2),
            fmt(r.bytesPerMin / 1024, 1),
            `${fmt(r.rssMiB, 0)} (${fmt(r.privMiB, 0)})`,
          ]),
          [
            1,
            'bare fastify server (same node flags, idle)',
            '–',
            '–',
            fmt(bare.cpuPerMin, 2),
            '–',
            `${fmt(bare.rssMiB, 0)} (${fmt(bare.privMiB, 0)})`,
          ],
        ],
        note:
          'Join convergence: from the seed listing a new node alive until all N nodes do. Failure ' +
          'detection: SIGKILL of a node → every other node lists it dead. CPU: utime + stime per node ' +
          `over the ${WINDOW_S} s window, scaled to a minute. KiB sent: UDP + TCP bytes the node counts ` +
          'itself. RSS at the end of the window; in brackets the private part (USS), the rest being ' +
          'the node or Go binary and shared libraries, mapped once for all processes of a host. Views ' +
          `are polled every ${POLL_MS} ms, so times are ±${POLL_MS} ms.`,
      },
      {
        title: 'Ours ÷ Go, same N, same run',
        header: ['nodes', 'CPU ×', 'KiB sent ×', 'RSS ×', 'failure detection ×', 'join median ×'],
        rows: SIZES.map((n) => [
          n,
          fmt(
            ratio(n, (r) => r.cpuPerMin),
            2,
          ),
          fmt(
            ratio(n, (r) => r.bytesPerMin),
            2,
          ),
          fmt(
            ratio(n, (r) => r.rssMiB),
            2,
          ),
          fmt(
            ratio(n, (r) => r.detectMs),
            2,
          ),
          fmt(
            ratio(n, (r) => r.joinMs),
            2,
          ),
        ]),
        note:
          `What a gossip node adds over a bare fastify server: RSS +${fmt(avg(rows.filter((r) => r.impl === 'ts').map((r) => r.rssMiB)) - bare.rssMiB, 0)} MiB, ` +
          `private +${fmt(avg(rows.filter((r) => r.impl === 'ts').map((r) => r.privMiB)) - bare.privMiB, 0)} MiB (mean over N).`,
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
            r.n - 1 + JOIN_TRIALS,
            label(r.impl),
            s.healthyDead,
            s.starvedDead,
            s.starvedSuspect,
            Number.isNaN(s.recoveredMs) ? 'not within 20 s' : `${ms(s.recoveredMs)} ms`,
          ];
        }),
        note:
          `After the failure-detection step (the killed node excluded), every other node's view sampled ` +
          `every ${STARVE_SAMPLE_MS} ms. A stopped node answers nothing, so it is suspected each cycle ` +
          'and refutes on waking; it is declared dead only if a stop outlasts the suspicion timeout.',
      },
    ],
  });
}

await main();
