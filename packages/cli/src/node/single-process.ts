// `edgefleet node`: the four services in one Node process, for devices where memory is short (a Jetson
// Nano has 4 GiB shared between CPU and GPU; four Node processes cost about four times the runtime's
// own footprint). Each service is built by its own factory, with its own config (service-env.ts), a
// child of one logger (its lines carry `service`), its own HTTP port and metrics registry; the four
// share one Redis command connection (each keeps its own blocking and subscriber connections).
//
// Order: started downstream first (gossip, uploader, executor, receiver), so that intake opens last;
// stopped in the reverse order, so that intake closes first and the node leaves the cluster last.
//
// Crashes: the trade-off of one process. An uncaught exception or unhandled rejection in any service
// ends the whole process (Node's default, left in place on purpose): no service is left half-alive
// beside a dead one, and the supervisor (local mode, the container's restart policy, systemd)
// restarts the node whole. Every job survives that: the pipeline's state is in Redis, as with a crash
// of one service in the four-process node. What is lost is isolation: one service's memory leak or
// blocked event loop is every service's.

import { createGossipNode, loadConfig as loadGossipConfig } from '@edgefleet/gossip-membership';
import { createExecutor, loadConfig as loadExecutorConfig } from '@edgefleet/job-executor';
import { createReceiver, loadConfig as loadReceiverConfig } from '@edgefleet/job-receiver';
import { createUploader, loadConfig as loadUploaderConfig } from '@edgefleet/result-uploader';
import {
  ConfigError,
  closeRedis,
  createLogger,
  createRedis,
  EXIT_CONFIG,
  installShutdown,
  type ServiceHandle,
  StartRefused,
} from '@edgefleet/service-kit';
import { type NodeServiceName, serviceEnv } from './service-env.js';

export interface SingleProcessOptions {
  env: NodeJS.ProcessEnv;
  /** gossip-membership's flags (`--bindPort`, `--members`…), as its own program takes them. */
  gossipArgs: string[];
  err: NodeJS.WritableStream;
}

interface Configs {
  receiver: ReturnType<typeof loadReceiverConfig>;
  executor: ReturnType<typeof loadExecutorConfig>;
  uploader: ReturnType<typeof loadUploaderConfig>;
  gossip: ReturnType<typeof loadGossipConfig>;
}

function loadConfigs(o: SingleProcessOptions): Configs | { service: NodeServiceName; message: string } {
  const at = <T>(service: NodeServiceName, load: () => T): T => {
    try {
      return load();
    } catch (e) {
      if (e instanceof ConfigError) throw Object.assign(e, { service });
      throw e;
    }
  };
  try {
    return {
      gossip: at('gossip-membership', () =>
        loadGossipConfig(serviceEnv(o.env, 'gossip-membership'), o.gossipArgs),
      ),
      uploader: at('result-uploader', () => loadUploaderConfig(serviceEnv(o.env, 'result-uploader'))),
      executor: at('job-executor', () => loadExecutorConfig(serviceEnv(o.env, 'job-executor'))),
      receiver: at('job-receiver', () => loadReceiverConfig(serviceEnv(o.env, 'job-receiver'))),
    };
  } catch (e) {
    if (e instanceof ConfigError)
      return { service: (e as ConfigError & { service: NodeServiceName }).service, message: e.message };
    throw e;
  }
}

/** Runs until SIGTERM/SIGINT. Resolves to the exit code only when it cannot start. */
export async function runSingleProcessNode(o: SingleProcessOptions): Promise<number> {
  const configs = loadConfigs(o);
  if ('message' in configs) {
    o.err.write(`edgefleet node: ${configs.service}: ${configs.message}\n`);
    return EXIT_CONFIG;
  }
  const { receiver, executor, uploader, gossip } = configs;
  const logger = createLogger({ level: receiver.logLevel });
  // One command connection when the services name the same Redis (they do unless configured apart).
  const sameRedis = [executor, uploader].every(
    (c) => c.redisUrl === receiver.redisUrl && c.redisPassword === receiver.redisPassword,
  );
  const redis = sameRedis
    ? createRedis({
        url: receiver.redisUrl,
        name: 'edgefleet-node:commands',
        logger,
        ...(receiver.redisPassword ? { password: receiver.redisPassword } : {}),
      })
    : undefined;
  const deps = { logger, ...(redis ? { redis } : {}) };
  const deadlineMs = Math.max(...[receiver, executor, uploader, gossip].map((c) => c.shutdownTimeoutMs));

  const started: ServiceHandle[] = [];
  const stopAll = async () => {
    let clean = true;
    for (const h of [...started].reverse()) if (!(await h.stop(deadlineMs))) clean = false;
    if (redis) await closeRedis(redis);
    return clean;
  };
  try {
    for (const create of [
      () => createGossipNode(gossip, deps),
      () => createUploader(uploader, deps),
      // The executor also reads its environment at run time (variables passed on to jobs, pip's proxies):
      // its own view, with EDGEFLEET_EXECUTOR__ overrides, as for its config.
      () => createExecutor(executor, { ...deps, serviceEnv: serviceEnv(o.env, 'job-executor') }),
      () => createReceiver(receiver, deps),
    ]) {
      const handle = await create();
      await handle.start();
      started.push(handle);
    }
  } catch (e) {
    await stopAll().catch(() => false);
    if (e instanceof StartRefused) {
      o.err.write(`edgefleet node: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  logger.info(
    { services: Object.fromEntries(started.map((h) => [h.service, h.port()])) },
    'edgefleet node: every service started',
  );
  installShutdown({
    logger,
    deadlineMs: deadlineMs * started.length,
    closers: [
      {
        name: 'node',
        close: async () => {
          if (!(await stopAll())) throw new Error('a service did not stop cleanly');
        },
      },
    ],
  });
  return await new Promise<number>(() => {});
}
