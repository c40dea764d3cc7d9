// What other packages may import from the job-receiver (the single-process node, tests): the factory
// and its configuration. Importing it starts nothing; main.ts is the process.
export { type Config, loadConfig, SERVICE } from './config.js';
export { createReceiver, type ReceiverDeps } from './receiver.js';
