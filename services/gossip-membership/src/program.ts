// The gossip-membership program, as main.ts runs it once V8's settings hold: flags/env → config →
// createGossipNode (gossip-node.ts) → run until SIGTERM/SIGINT (leave the cluster, bounded, then
// close in reverse order; service-kit's startUntilSignal). `--help` prints usage and exits 0; a bad flag or variable prints one line and
// the usage, and exits with code 2.
import { ConfigError, EXIT_CONFIG, runService, startUntilSignal } from '@edgefleet/service-kit';
import { type GossipConfig, HelpRequested, parseGossipConfig, SERVICE, usageText } from './config.js';
import { createGossipNode } from './gossip-node.js';

function configFromProcess(): GossipConfig {
  try {
    return parseGossipConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(usageText());
      process.exit(0);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${SERVICE}: ${e.message}\n${usageText()}`);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
}

const config = configFromProcess();
await runService(
  SERVICE,
  () => config,
  async (c) => startUntilSignal(await createGossipNode(c), c.shutdownTimeoutMs),
);
