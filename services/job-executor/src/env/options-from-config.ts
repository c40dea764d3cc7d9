// The manager's options from the executor's configuration (for createExecutor, executor-service.ts).
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { EnvironmentManagerOptions } from './manager.js';

/**
 * `buildUser`: the resolved uid/gid pip should run as (recommended: the job user, when the
 * executor runs as root), so no job-supplied build code ever runs as root.
 */
export function environmentOptionsFromConfig(
  config: Config,
  extras: {
    logger?: Logger;
    buildUser?: { uid: number; gid: number };
    /** The service's environment (PATH, LANG, proxies for pip); absent: process.env. */
    env?: Record<string, string | undefined>;
  } = {},
): EnvironmentManagerOptions {
  const { logger, buildUser, env } = extras;
  return {
    cacheDir: resolve(config.envCacheDir ?? join(config.dataDir, 'envs')),
    maxCacheBytes: config.envCacheMaxBytes,
    python: config.pythonBin,
    seedPip: config.envSeedPip,
    killGraceMs: config.killGraceMs,
    minFreeBytes: config.envMinFreeBytes,
    pip: {
      indexUrl: config.pipIndexUrl,
      extraIndexUrls: config.pipExtraIndexUrls,
      noIndex: config.pipNoIndex,
      findLinks: config.pipFindLinks,
      onlyBinary: config.pipOnlyBinary,
    },
    ...(buildUser ? { buildUser } : {}),
    ...(env ? { env } : {}),
    ...(logger ? { logger: logger.child({ component: 'env' }) } : {}),
  };
}
