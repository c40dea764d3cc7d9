// Profiling aid: a Local-profile cluster of N of our nodes (production node flags) in which node 1
// runs with --cpu-prof; after a quiet window it is stopped with SIGTERM so V8 writes the profile to
// PROFILE_DIR. Busy: BENCH_BUSY=1 kills a node every 15 s of the window (alive → suspect → dead).
import { readFileSync } from 'node:fs';
import { freePort } from '@edgefleet/testkit';
import { GOSSIP_NODE_ARGS } from '../src/node-args.js';
import { startTsNode, type TsNode } from '../support/ts-node.js';

const N = Number(process.env.N ?? 10);
const WINDOW_S = Number(process.env.WINDOW_S ?? 60);
const DIR = process.env.PROFILE_DIR ?? '/tmp/gossip-prof';
const BUSY = process.env.BENCH_BUSY === '1';
const FLAGS = GOSSIP_NODE_ARGS.join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
};
const nodes: TsNode[] = [];
try {
  for (let i = 0; i < N; i++) {
    const ip = `127.0.200.${i + 1}`;
    nodes.push(
      await startTsNode({
        name: `p-${i}`,
        ip,
        bindPort: await freePort(ip),
        httpPort: await freePort(),
        ...(i > 0 ? { members: [`${nodes[0]?.ip}:${nodes[0]?.bindPort}`] } : {}),
        env: { NODE_OPTIONS: i === 1 ? `${FLAGS} --cpu-prof --cpu-prof-dir=${DIR}` : FLAGS },
      }),
    );
  }
  await sleep(15_000);
  const pids = nodes.map((n) => n.proc.proc.pid as number);
  const c0 = pids.map(cpu);
  for (let t = 0; t < WINDOW_S; t += 15) {
    await sleep(15_000);
    if (BUSY) await nodes[N - 1 - t / 15]?.kill();
  }
  const c1 = pids.map((p, i) => (BUSY && i >= N - WINDOW_S / 15 ? Number.NaN : cpu(p) - (c0[i] ?? 0)));
  console.log('CPU s/min per node', c1.map((c) => ((c * 60) / WINDOW_S).toFixed(3)).join(' '));
} finally {
  await nodes[1]?.stop();
  await Promise.all(nodes.map((n) => n.kill().catch(() => {})));
}
