export * from './job-message.js';
export * from './job-record.js';
export * from './job-state.js';
export * from './json-schema.js';
export * from './names.js';
export * from './paths.js';
export * from './stream-entries.js';
