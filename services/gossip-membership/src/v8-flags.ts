// V8 settings of the gossip-membership program, applied before any other module of it is evaluated
// (main.ts imports this file, and only then the program). A gossip node's JavaScript is a few small handlers that run tens
// of times a second, so V8's optimizing compilers cost more memory than they save time:
//   --no-opt --no-maglev   no TurboFan, no Maglev (Ignition's bytecode and Sparkplug's baseline code
//                          stay): the compilers' own pages of the node binary (about 7 MiB of RssFile)
//                          are never touched and no optimized code is kept;
//   --optimize-for-size    V8's heap heuristics favour footprint over speed (smaller growth steps).
// Measured with 10 nodes of the Local profile side by side (services/gossip-membership/bench/cluster.ts
// is the reference run): idle RSS 88–90 → 75–78 MiB per node (a node whose API was just polled hard: 79), CPU-seconds per node per minute the same
// or lower (no compilation).
// Set here with v8.setFlagsFromString rather than on node's command line because NODE_OPTIONS refuses
// these flags and the program is started in several ways (the image, local mode, tests, benchmarks),
// all through main.ts. Only the gossip program sets them: the single-process node (`edgefleet node`)
// runs other services in the same V8, whose hot paths do benefit from optimization.
// test/v8-flags.test.ts checks that a hot function is no longer optimized once this module ran.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-opt --no-maglev --optimize-for-size');
