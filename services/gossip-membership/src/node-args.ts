// The node command line of the gossip program, wherever it runs as a process of its own: local mode
// (packages/cli/src/local/services.ts), the compose file's gossip `entrypoint` (docker/compose.yaml,
// checked against this list by docker/test/docker.test.ts; not NODE_OPTIONS, which every node program
// in the container would inherit, and Node's fetch fails without WebAssembly), package.json `start`, the interop tests'
// support/ts-node.ts and the cluster benchmark. These are process-start flags: V8 takes them only before
// its first isolate exists, so unlike v8-flags.ts they cannot be set from inside the program.
//   --max-semi-space-size=1  young generation capped at 1 MiB per semi-space (default up to 16 MiB,
//                            which a polled membership API grows and an idle node keeps): RSS per node
//                            about 100 → 77 MiB, CPU unchanged (bench/cluster.ts);
//   --v8-pool-size=1         one V8 background thread instead of one per core (its stack and malloc
//                            arena): idle RSS 73–77 → 69–70 MiB, CPU unchanged;
//   --jitless                Ignition's bytecode only: no Sparkplug baseline code, no executable code
//                            pages, no WebAssembly (the program uses none). A node runs a few small
//                            handlers tens of times a second, which the interpreter serves at the same
//                            CPU: measured 10 nodes of the Local profile per variant side by side, idle
//                            after 10 s of /members polling, RSS 78.0 → 73.6 MiB per node, CPU 0.162 →
//                            0.155 CPU-s/node/min; start-up 0.27 → 0.28 s.
// The single-process node (`edgefleet node`) runs gossip in a process whose other services need the
// JIT, and so does without these (its own flags: docker/compose.yaml, edgefleet-node).
export const GOSSIP_NODE_ARGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
  '--jitless',
];
