// The package's public surface: the factory, its config and the config parser. Importing it starts
// nothing (main.ts is the program).
export {
  type Config,
  ConfigSchema,
  type GossipConfig,
  HelpRequested,
  loadConfig,
  parseGossipConfig,
  SERVICE,
  usageText,
} from './config.js';
export { createGossipNode, type GossipDeps } from './gossip-node.js';
