// Cluster benchmark: N nodes of ours (the real service process) and N Go memberlist nodes (our
// test/go-peer, Debian memberlist 0.2.2), each cluster on its own loopback addresses, Local profile.
// For each implementation and N (default 5, 20, 50; BENCH_SIZES=5,20 to change) it measures:
//   join spread   from the seed seeing a new node alive until all N nodes do (polled every 100 ms;
//                 median and max of 3 joins)
//   failure det.  from SIGKILL of one node until every other node lists it dead
//   CPU s/node/min, bytes sent/node/min   over a quiet steady-state window (BENCH_WINDOW_S, 15 s)
//   RSS/node      at the end of the window (MiB)
// and prints them side by side. Run: pnpm --filter @edgefleet/gossip-membership bench (after pnpm build).
import { readFileSync } from 'node:fs';
import { freePort } from '@edgefleet/testkit';
import { buildGoPeer, type GoPeer, startGoPeer } from '../test/helpers/go-peer.js';
import { startTsNode, type TsNode } from '../test/helpers/ts-node.js';

const SIZES = (process.env.BENCH_SIZES ?? '5,20,50').split(',').map(Number);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 15);
const POLL_MS = 100;
const JOIN_TRIALS = 3;

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
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function fromGo(p: GoPeer): Node {
  return {
    name: p.name,
    addr: `${p.addr}:${p.port}`,
    pid: p.proc.pid as number,
    seen: async () => new Map((await p.members()).map((m) => [m.name, m.state])),
    bytesOut: () => p.bytesOut(),
    kill: () => p.kill(),
  };
}
function fromTs(n: TsNode): Node {
  return {
    name: n.name,
    addr: `${n.ip}:${n.bindPort}`,
    pid: n.proc.proc.pid as number,
    seen: async () => new Map((await n.members()).map((m) => [m.name, m.state])),
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

async function startNode(impl: 'go' | 'ts', subnet: number, i: number, seed?: string): Promise<Node> {
  const node = await spawnNode(impl, subnet, i, seed);
  live.add(node);
  return node;
}

async function spawnNode(impl: 'go' | 'ts', subnet: number, i: number, seed?: string): Promise<Node> {
  const ip = `127.0.${subnet}.${i + 1}`;
  const port = await freePort(ip);
  const name = `${impl}-${i}`;
  if (impl === 'go')
    return fromGo(await startGoPeer({ name, bind: ip, port, ...(seed ? { join: [seed] } : {}) }));
  return fromTs(
    await startTsNode({
      name,
      ip,
      bindPort: port,
      httpPort: await freePort(),
      ...(seed ? { members: [seed] } : {}),
    }),
  );
}

/** Polls until `done` holds for every node; resolves with the elapsed ms, or NaN after the timeout. */
async function timeUntil(nodes: Node[], done: (seen: Map<string, string>) => boolean, timeoutMs: number) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const views = await Promise.all(nodes.map((n) => n.seen().catch(() => new Map<string, string>())));
    if (process.env.BENCH_DEBUG)
      process.stderr.write(`${Math.round(performance.now() - t0)} ${views.map((v) => done(v)).join(',')}\n`);
    if (views.every(done)) return performance.now() - t0;
    await sleep(POLL_MS);
  }
  return Number.NaN;
}

interface Row {
  impl: string;
  n: number;
  joinMs: number;
  joinMaxMs: number;
  detectMs: number;
  cpuPerMin: number;
  bytesPerMin: number;
  rssMiB: number;
}

async function runCluster(impl: 'go' | 'ts', n: number): Promise<Row> {
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
      60_000,
    );
    if (Number.isNaN(converged)) throw new Error(`${impl} ×${n}: cluster did not converge`);

    // Quiet steady state: no HTTP polling during the window.
    const cpu0 = nodes.map((x) => cpuSeconds(x.pid));
    const bytes0 = await Promise.all(nodes.map((x) => x.bytesOut()));
    await sleep(WINDOW_S * 1000);
    const cpu1 = nodes.map((x) => cpuSeconds(x.pid));
    const bytes1 = await Promise.all(nodes.map((x) => x.bytesOut()));
    const perMin = 60 / WINDOW_S;
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cpuPerMin = avg(cpu1.map((c, i) => (c - (cpu0[i] ?? 0)) * perMin));
    const bytesPerMin = avg(bytes1.map((b, i) => (b - (bytes0[i] ?? 0)) * perMin));
    const rss = avg(nodes.map((x) => rssMiB(x.pid)));

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
    const joinMs = joins[Math.floor(joins.length / 2)] as number;
    const joinMaxMs = joins[joins.length - 1] as number;

    // Failure detection: SIGKILL a non-seed node.
    const victim = nodes[1] as Node;
    await victim.kill();
    const rest = nodes.filter((x) => x !== victim);
    const detectMs = await timeUntil(rest, (seen) => seen.get(victim.name) === 'dead', 60_000);
    return { impl, n, joinMs, joinMaxMs, detectMs, cpuPerMin, bytesPerMin, rssMiB: rss };
  } finally {
    await Promise.all(nodes.map((x) => x.kill().catch(() => undefined)));
    for (const x of nodes) live.delete(x);
  }
}

const fmt = (v: number, digits = 0) => (Number.isNaN(v) ? 'timeout' : v.toFixed(digits));

/** Every node started, so an interrupted run (Ctrl-C, timeout) leaves no process behind. */
const live = new Set<Node>();
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    void Promise.all([...live].map((x) => x.kill().catch(() => undefined))).then(() => process.exit(130));
  });

async function main(): Promise<void> {
  await buildGoPeer();
  const rows: Row[] = [];
  for (const n of SIZES)
    for (const impl of ['go', 'ts'] as const) {
      const t0 = performance.now();
      const row = await runCluster(impl, n);
      rows.push(row);
      process.stderr.write(`${impl} ×${n} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  const header = [
    'nodes',
    'impl',
    'join spread ms (median/max of 3)',
    'failure detected ms',
    'CPU s/node/min',
    'KiB sent/node/min',
    'RSS MiB/node',
  ];
  const lines = rows.map((r) => [
    String(r.n),
    r.impl === 'go' ? 'Go memberlist 0.2.2' : 'edgefleet (TS)',
    `${fmt(r.joinMs)} / ${fmt(r.joinMaxMs)}`,
    fmt(r.detectMs),
    fmt(r.cpuPerMin, 2),
    fmt(r.bytesPerMin / 1024, 1),
    fmt(r.rssMiB, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(`Local profile, loopback, steady window ${WINDOW_S} s, poll ${POLL_MS} ms`);
  console.log(row(header));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(row(l));
}

await main();
