// The job-executor's Python environment cache. See manager.ts for the flow, core/env/types.ts for the
// contract. Its pure rules (key, requirements, pip's environment and errors, eviction) are in
// core/env/; the files here do its I/O (disk, locks, /proc, processes).
export type { InstallOptions, InterpreterIdentity } from '../core/env/cache-key.js';
export { computeKey } from '../core/env/cache-key.js';
export type { PipSettings } from '../core/env/pip-env.js';
export { normaliseRequirements, type RequirementsProblem } from '../core/env/requirements.js';
export type { EnvironmentManager, EnvironmentRequest, EnvironmentResult } from '../core/env/types.js';
export { createEnvironmentManager, type EnvironmentManagerOptions } from './manager.js';
export { environmentOptionsFromConfig } from './options-from-config.js';
