// The job-executor's Python environment cache. See manager.ts for the flow, core/env/types.ts for the
// contract. Its pure rules (key, requirements, pip's environment and errors, eviction) are in
// core/env/; the files here do its I/O (disk, locks, /proc, processes).
export type { EnvironmentManager, EnvironmentRequest } from '../core/env/types.js';
export { createEnvironmentManager } from './manager.js';
export { environmentOptionsFromConfig } from './options-from-config.js';
