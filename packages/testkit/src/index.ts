export * from './eventually.js';
export * from './fault-proxy.js';
export * from './fauxqs.js';
export * from './log-sink.js';
export * from './ports.js';
export * from './redis-server.js';
export * from './service-process.js';
export * from './wheel.js';
