// The job-executor as a library: its factory and config, for a process that hosts it (main.ts, or a
// node running several services). Importing this module starts nothing.
export { type Config, loadConfig, SERVICE } from './config.js';
export {
  createExecutor,
  type ExecutorHandle,
  type ExecutorServiceDeps,
} from './executor-service.js';
