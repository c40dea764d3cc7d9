// The job-executor service: createExecutor builds it from its config (start-up checks, clients,
// cgroups, job user, environment cache, stream consumer, HTTP app); start() starts its loops and
// listens; stop() closes them in the reverse order. main.ts, the tests and the benchmark all build the
// service through it. No process-global side effects here (no signal handlers, no exit, no umask):
// one process may host several services.
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  dataFolderProblem,
  decodeEntry,
  diskReserveProblem,
  foldersDownTo,
  GROUPS,
  JobsEntry,
  type RedisNames,
  redisNames,
  reservedBytes,
} from '@edgefleet/contracts';
import {
  type BackoffPolicy,
  type Closer,
  closeAll,
  closeRedis,
  createRedis,
  instanceIdOf,
  jobDeadLetter,
  nodeNameOf,
  readDiskReserve,
  redisReachable,
  type ServiceDeps,
  type ServiceHandle,
  StartRefused,
  StreamConsumer,
  serviceLogger,
} from '@edgefleet/service-kit';
import { Gauge } from 'prom-client';
import { type CancelWatch, startCancelWatch } from './adapters/cancel-watch.js';
import { type CgroupSupport, detectCgroups } from './adapters/cgroup.js';
import { type ControlSubscriber, startControlSubscriber } from './adapters/control-subscriber.js';
import { type DeviceLoadWriter, startDeviceLoad } from './adapters/device-load.js';
import { resolveJobGroups } from './adapters/job-groups.js';
import { type JobUser, resolveJobUser } from './adapters/job-user.js';
import { foreignUidProcesses } from './adapters/proc-scan.js';
import { RunStateStore } from './adapters/run-state.js';
import { buildApp } from './app.js';
import { type Config, SERVICE } from './config.js';
import type { EnvironmentManager } from './core/env/types.js';
import { jobUserInUse } from './core/start-checks.js';
import { Drain, registerDrainRoute } from './drain.js';
import { createEnvironmentManager, environmentOptionsFromConfig } from './env/index.js';
import { BY, type ExecutorSettings, JobExecutor, recoverLeftovers } from './executor.js';

/** How often a data folder the job user cannot reach is looked at again, in ms. */
const DATA_FOLDER_RECHECK_MS = 5000;

/** What createExecutor may be given besides ServiceDeps; whatever is given is never closed by it. */
export interface ExecutorServiceDeps extends ServiceDeps {
  /** The S3 client inputs are downloaded with; absent: one from the AWS_* variables. */
  s3?: S3Client;
  /** The environment manager; absent: the environment cache the config describes (src/env). */
  environments?: EnvironmentManager;
  /**
   * The service's environment: jobs get its EDGEFLEET_JOB_ENV_PASSTHROUGH variables, pip gets its
   * PATH, LANG and proxies, and AWS_ENDPOINT_URL turns on path-style S3 URLs. Default: process.env
   * (the single-process node passes the executor's view, EDGEFLEET_EXECUTOR__ overrides applied).
   */
  serviceEnv?: Record<string, string | undefined>;
  /** How long one read of the `jobs` stream blocks, ms (a stop waits for it); default the consumer's. */
  consumerBlockMs?: number;
  /** Clock of the pipeline, ms since the epoch; default Date.now. */
  now?: () => number;
  /** Random source of the outage backoff's jitter, [0, 1). */
  random?: () => number;
  /** Backoff while a download waits out an S3 outage; default service-kit's OUTAGE_BACKOFF. */
  outageBackoff?: BackoffPolicy;
}

/** The executor's handle: the service, plus what its start-up resolved (for tests and the benchmark). */
export interface ExecutorHandle extends ServiceHandle {
  /** The pipeline's settings (data folder absolute, memory mode and job groups as resolved); read live. */
  readonly settings: ExecutorSettings;
  readonly names: RedisNames;
  readonly jobUser: JobUser;
  readonly cgroups: CgroupSupport;
  readonly executor: JobExecutor;
}

export async function createExecutor(
  config: Config,
  deps: ExecutorServiceDeps = {},
): Promise<ExecutorHandle> {
  const logger = serviceLogger(deps, SERVICE, config.logLevel);
  const serviceEnv = deps.serviceEnv ?? process.env;
  const node = nodeNameOf(config.nodeName);
  const names = redisNames(config.redisPrefix);
  const dataDir = resolve(config.dataDir);
  await mkdir(join(dataDir, 'jobs'), { recursive: true, mode: 0o755 });

  // Before anything is taken: kill what a previous run of this executor left behind.
  const runState = new RunStateStore(dataDir);
  await recoverLeftovers(runState, logger.child({ component: 'recovery' }));
  // RLIMIT_AS breaks CUDA's address-space reservations: never on a Jetson (L4T), whatever is configured.
  let memoryLimitMode = config.memoryLimitMode;
  if (memoryLimitMode === 'rlimit' && existsSync('/etc/nv_tegra_release')) {
    logger.warn('EDGEFLEET_MEMORY_LIMIT_MODE=rlimit ignored on a Jetson (breaks CUDA): using cgroup');
    memoryLimitMode = 'cgroup';
  }
  const jobUser = await resolveJobUser(config.jobUser);
  // Job code runs below the data folder: a folder the job user cannot enter would fail every job
  // deep in a log. While it is so the executor takes no job and says why in /readyz (one line: the
  // folder in the way and the fix); it looks again every DATA_FOLDER_RECHECK_MS and on each /readyz.
  const dataFolderWhy = async (): Promise<string | null> => {
    if (!jobUser.dedicated) return null;
    const chain = await Promise.all(
      foldersDownTo(dataDir).map(async (path) => ({ path, ...(await stat(path)) })),
    );
    return dataFolderProblem(dataDir, chain, jobUser);
  };
  let unreachable = await dataFolderWhy();
  if (unreachable) logger.error(`not ready: ${unreachable}`);
  // Whatever runs as the job user now is someone else's (our leftovers were just killed).
  if (jobUser.dedicated) {
    const inUse = jobUserInUse(jobUser, foreignUidProcesses(jobUser.uid));
    if (inUse) throw new StartRefused(inUse);
  }
  const groups = await resolveJobGroups({ devRoot: config.deviceRoot, extra: config.jobDeviceGroups });
  if (!groups.ok) throw Object.assign(new Error(groups.problem), { code: 'JOB_GROUPS_INVALID' });
  if (groups.skipped.length)
    logger.warn({ nodes: groups.skipped }, "GPU device nodes owned by root's group: not opened for jobs");
  const cgroups = await detectCgroups(config.cgroupRoot ? { root: config.cgroupRoot } : {});
  logger.info(
    {
      jobUser: jobUser.name,
      dedicatedUser: jobUser.dedicated,
      cgroups: cgroups.summary,
      memoryLimitMode,
      jobGroups: groups.sources,
    },
    jobUser.dedicated ? 'jobs run as their own user' : 'not root: jobs run as this service user',
  );

  const redis =
    deps.redis ??
    createRedis({
      url: config.redisUrl,
      name: `${SERVICE}:commands`,
      logger,
      ...(config.redisPassword ? { password: config.redisPassword } : {}),
    });
  const s3 =
    deps.s3 ??
    new S3Client({
      forcePathStyle: config.s3ForcePathStyle ?? Boolean(serviceEnv.AWS_ENDPOINT_URL),
      // A link that swallows packets must fail as an outage (retried within the outage budget), not
      // hang a download forever: connect within 10 s, no socket silent for more than 60 s.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    });
  // pip may run a package's own build code (setup.py): as the job user when jobs have one.
  const buildUser = config.envBuildAsJobUser && jobUser.dedicated ? jobUser : undefined;
  const environments =
    deps.environments ??
    createEnvironmentManager(
      environmentOptionsFromConfig(config, { logger, env: serviceEnv, ...(buildUser ? { buildUser } : {}) }),
    );
  const settings: ExecutorSettings = { ...config, dataDir, memoryLimitMode, jobGroups: groups.gids };
  // The device-load writer starts with start(); until then there is nothing running to report.
  let load: DeviceLoadWriter | undefined;
  const executor = new JobExecutor({
    settings,
    redis,
    names,
    s3,
    environments,
    cgroups,
    jobUser,
    runState,
    logger,
    node,
    serviceEnv,
    onRunningChange: (n) => load?.update(n),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.outageBackoff ? { outageBackoff: deps.outageBackoff } : {}),
  });
  const consumer = new StreamConsumer<JobsEntry>({
    redis,
    stream: names.jobsStream,
    group: GROUPS.executor,
    consumer: instanceIdOf(SERVICE, config.instanceId, node),
    deadStream: names.deadStream,
    decode: (fields) => decodeEntry(JobsEntry, fields),
    handle: (entry, signal) => executor.handle(entry, signal),
    deadLetter: jobDeadLetter({
      redis,
      names,
      stream: names.jobsStream,
      group: GROUPS.executor,
      by: BY,
      node,
    }),
    logger: logger.child({ component: 'consumer' }),
    maxDeliveries: config.maxDeliveries,
    claimIdleMs: config.claimIdleMs,
    concurrency: config.concurrency,
    ...(deps.consumerBlockMs !== undefined ? { blockMs: deps.consumerBlockMs } : {}),
  });
  const drain = new Drain({
    stopTaking: () => consumer.stopTaking(),
    runningIds: () => executor.runningIds(),
    idle: (ms) => executor.idle(ms),
    stopAll: (ms) => executor.stopAll(ms),
    handBackMs: config.killGraceMs + 3000,
    logger: logger.child({ component: 'drain' }),
  });

  let started = false;
  let taking = false;
  let recheck: NodeJS.Timeout | undefined;
  /** Looks at the data folder again; takes jobs from the first time the job user can reach it (after start()). */
  const checkDataFolder = async (): Promise<boolean> => {
    const was = unreachable;
    unreachable = await dataFolderWhy().catch((e: Error) => `data folder ${dataDir}: ${e.message}`);
    if (unreachable && unreachable !== was) logger.error(`not ready: ${unreachable}`);
    // A drained executor takes no jobs, even when the folder becomes reachable after the drain.
    if (started && !unreachable && !taking && !drain.draining) {
      taking = true;
      if (was) logger.info({ dataDir }, 'data folder reachable by the job user: taking jobs');
      clearInterval(recheck);
      consumer.start();
    }
    return unreachable === null;
  };

  const http = buildApp({
    logger,
    host: config.httpHost,
    checks: [
      { name: 'redis', check: () => redisReachable(redis) },
      { name: 'dataFolder', check: checkDataFolder, why: () => unreachable },
      {
        name: 'takingJobs',
        check: async () => !drain.draining,
        why: () => 'drained (POST /v1/drain): takes no jobs until restarted',
      },
    ],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
  registerDrainRoute(http, drain);
  const { app } = http;
  // The room job output can never eat (ext4 reserved blocks for Redis's group): said once at start,
  // a warning when missing; the disk guard's samples are no guarantee against a fast writer.
  const reserved = new Gauge({
    name: 'edgefleet_disk_reserved_bytes',
    help: 'Bytes of the data disk reserved from job code (statfs f_bfree - f_bavail), read at start',
    registers: [http.registry],
  });
  const reserve = await readDiskReserve(dataDir).catch(() => undefined);
  if (reserve) {
    reserved.set(reservedBytes(reserve));
    const problem = diskReserveProblem(
      dataDir,
      reserve,
      config.diskReserveMiB * 1024 * 1024,
      config.diskReserveGid,
    );
    if (problem)
      logger.warn({ reservedBytes: reservedBytes(reserve) }, `disk reserve: ${problem.why}: ${problem.fix}`);
    else
      logger.info(
        { reservedBytes: reservedBytes(reserve), device: reserve.mount?.source },
        'disk reserve in place',
      );
  }

  let control: ControlSubscriber | undefined;
  let cancels: CancelWatch | undefined;
  let listeningPort = 0;

  return {
    service: SERVICE,
    logger,
    app,
    settings,
    names,
    jobUser,
    cgroups,
    executor,
    async start() {
      if (started) throw new Error(`${SERVICE} already started`);
      started = true;
      load = startDeviceLoad({
        redis,
        key: names.deviceLoad,
        jobsStream: names.jobsStream,
        group: GROUPS.executor,
        dataDir,
        intervalMs: config.loadIntervalMs,
        logger: logger.child({ component: 'device-load' }),
      });
      control = startControlSubscriber({
        redis,
        channel: names.controlChannel,
        onCancel: (jobId) => {
          if (executor.cancel(jobId)) logger.info({ jobId }, 'cancel received: stopping the job');
        },
        logger: logger.child({ component: 'control' }),
      });
      cancels = startCancelWatch({
        redis,
        names,
        running: () => executor.runningIds(),
        cancel: (jobId) => executor.cancel(jobId),
        intervalMs: config.cancelCheckMs,
        logger: logger.child({ component: 'cancel-watch' }),
      });
      recheck = setInterval(() => void checkDataFolder(), DATA_FOLDER_RECHECK_MS);
      recheck.unref();
      await checkDataFolder();
      await app.listen({ host: config.httpHost, port: config.port });
      const address = app.server.address();
      listeningPort = typeof address === 'object' && address ? address.port : config.port;
      logger.info({ port: listeningPort, host: config.httpHost }, `${SERVICE} listening`);
    },
    async stop(deadlineMs = config.shutdownTimeoutMs) {
      const closers: Closer[] = [
        { name: 'http', close: () => app.close() },
        { name: 'data-folder-check', close: () => clearInterval(recheck) },
        // Running jobs are handed back first (killed, re-run after the restart), then the loop stops.
        { name: 'jobs', close: () => executor.stopAll(config.killGraceMs + 3000) },
        { name: 'consumer', close: () => consumer.stop(2000) },
        { name: 'control', close: () => control?.close() },
        { name: 'cancel-watch', close: () => cancels?.close() },
        { name: 'device-load', close: () => load?.close() },
      ];
      if (!deps.s3) closers.push({ name: 's3', close: () => s3.destroy() });
      if (!deps.redis) closers.push({ name: 'redis', close: () => closeRedis(redis) });
      return closeAll(closers, deadlineMs, logger);
    },
    port: () => listeningPort,
  };
}
