// The job-executor's Python environment cache. See manager.ts for the flow, types.ts for the contract.
export type { InstallOptions, InterpreterIdentity } from './cache-key.js';
export { computeKey } from './cache-key.js';
export { environmentOptionsFromConfig } from './from-config.js';
export { createEnvironmentManager, type EnvironmentManagerOptions } from './manager.js';
export type { PipSettings } from './pip-env.js';
export { normaliseRequirements, type RequirementsProblem } from './requirements.js';
export type { EnvironmentManager, EnvironmentRequest, EnvironmentResult } from './types.js';
