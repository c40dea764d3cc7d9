#!/usr/bin/env node
// The gossip-membership program's entry: V8's settings for this process first (v8-flags.ts), then the
// program (program.ts: flags/env → config → createGossipNode → run until SIGTERM/SIGINT). The program
// is imported only once the settings hold: Node's module loader is itself JavaScript, and while it
// loads the program's ~600 modules its hot functions would otherwise be optimized, touching the
// compilers' pages the settings are there to leave alone (idle RSS 82 → 77 MiB per node, measured as
// in v8-flags.ts).
import './v8-flags.js';

await import('./program.js');
