// Settings of the job-executor service, from EDGEFLEET_* variables (see the README's configuration table).
import { commonConfigShape, env, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';

export const SERVICE = 'job-executor';
export const DEFAULT_PORT = 4101;

const MiB = 1024 * 1024;

export const ConfigSchema = z.object({
  ...commonConfigShape,
  /** HTTP port (health, readiness, metrics of job-executor). */
  port: env.port().default(DEFAULT_PORT),

  // --- jobs and workspace -------------------------------------------------------------------------
  /** Root of job folders (`<dataDir>/jobs/<jobId>/{work,output,logs}`) and the executor's state files. */
  dataDir: z.string().min(1).default('./.data'),
  /** Jobs run at once on this device (the GPU is shared: default 1). */
  concurrency: env.int(1, 64).default(1),
  /** Executions per job (entries into DOWNLOADING) before it ends FAILED with ATTEMPTS_EXHAUSTED. */
  maxAttempts: env.int(1, 100).default(2),
  /** Deliveries of one `jobs` entry before it is dead-lettered (FAILED, DEAD_LETTERED). */
  maxDeliveries: env.int(1, 1000).default(5),
  /** Idle time in ms after which a dead consumer's entry is claimed (XAUTOCLAIM). */
  claimIdleMs: env.int(100, 3_600_000).default(30_000),
  /** Buckets inputs may come from (comma-separated). Empty = every bucket is refused. */
  allowedBuckets: env.list().default([]),
  /** Largest total size of one job's inputs, in bytes (default 20 GiB). */
  maxInputBytes: env.number(0).default(20 * 1024 * MiB),
  /** Most files one job may download (objects plus every key under prefixes). */
  maxInputFiles: env.int(1, 10_000_000).default(10_000),
  /** Free bytes that must remain on the data disk after the inputs are downloaded (default 1 GiB). */
  minFreeDiskBytes: env.number(0).default(1024 * MiB),
  /**
   * Seconds the downloads of a job may go without progress while S3 is unreachable, overloaded or
   * timing out (retried with capped exponential backoff and jitter) before the job ends DOWNLOAD_FAILED.
   */
  downloadOutageSeconds: env.int(1, 7 * 24 * 3600).default(1800),
  /**
   * Bytes a job may write into its folder (output/ and its TMPDIR) when its message gives no
   * limits.outputMiB, in MiB; above it the job ends OUTPUT_LIMIT (checked every EDGEFLEET_DISK_CHECK_MS).
   */
  defaultOutputMiB: env.int(1, 16 * 1024 * 1024).default(10 * 1024),
  /**
   * How often a running job's disk use and the disk's free space are checked, in ms: a job whose
   * writes leave less than EDGEFLEET_MIN_FREE_DISK_BYTES free ends DISK_FULL.
   */
  diskCheckMs: env.int(50, 60_000).default(1000),
  /**
   * MiB the data disk's filesystem must reserve for Redis's group (ext4 reserved blocks, resgid 999:
   * docker/README.md); less, or reserved for another group, is a warning at start. The reserve is
   * what job output can never eat; the gauge edgefleet_disk_reserved_bytes shows what there is.
   */
  diskReserveMiB: env.int(0, 16 * 1024 * 1024).default(512),
  /** The group the reserve must belong to: Redis's (uid/gid 999 in docker/compose.yaml). */
  diskReserveGid: env.int(0, 2 ** 32 - 2).default(999),
  /** Files downloaded at once per job. */
  downloadConcurrency: env.int(1, 64).default(4),
  /** Force path-style S3 URLs; default: on when AWS_ENDPOINT_URL is set (emulators, MinIO). */
  s3ForcePathStyle: env.bool().optional(),

  // --- the run --------------------------------------------------------------------------------------
  /** Unprivileged user the job runs as (created by scripts/install-system-deps.sh). Ignored when not root. */
  jobUser: z.string().min(1).default('edgefleet-job'),
  /** Folder holding the device nodes (GPU nodes are looked for under it: nvmap, nvhost-*, nvgpu/, dri/). */
  deviceRoot: z.string().min(1).default('/dev'),
  /**
   * Groups job processes get besides those owning the GPU device nodes found at start (names or gids,
   * comma-separated). Jobs get exactly these supplementary groups and no others; root's group never.
   */
  jobDeviceGroups: env.list().default([]),
  /** Python that creates job virtualenvs (must be readable by the job user). */
  pythonBin: z.string().min(1).default('/usr/bin/python3'),
  /** Run timeout when the job gives none, in seconds. */
  defaultTimeoutSeconds: env.int(1, 7 * 24 * 3600).default(3600),
  /** Install timeout when the job gives none, in seconds. */
  defaultInstallTimeoutSeconds: env.int(1, 24 * 3600).default(900),
  /** Time between SIGTERM and SIGKILL when a job is stopped, in ms. */
  killGraceMs: env.int(0, 600_000).default(5000),
  /** `cgroup` (memory.max; never breaks CUDA), `rlimit` (RLIMIT_AS: not with CUDA/Jetson), `none`. */
  memoryLimitMode: z.enum(['cgroup', 'rlimit', 'none']).default('cgroup'),
  /** Memory limit when the job gives none, in MiB (0 = none). */
  defaultMemoryMiB: env.int(0, 1024 * 1024).default(0),
  /** RLIMIT_NPROC of the job user and cgroup pids.max: processes + threads a job may have. */
  maxProcesses: env.int(8, 1_000_000).default(512),
  /** cgroup v2 folder under which job cgroups are made; default: auto (`<cgroup2 mount>/edgefleet`). */
  cgroupRoot: z.string().optional(),
  /** Bytes kept of each of stdout and stderr; a job that writes more is stopped with OUTPUT_LIMIT. */
  maxLogBytes: env.number(1024).default(64 * MiB),
  /** Entries kept in the live log tail stream (XADD MAXLEN ~). */
  logTailMaxEntries: env.int(10, 1_000_000).default(1000),
  /**
   * How often the cancel flags of running jobs are re-read from their records, in ms (a cancel message
   * lost while the control connection reconnected is acted on within this time; also on reconnect).
   */
  cancelCheckMs: env.int(200, 60_000).default(2000),
  /** Variables passed from the service's environment to jobs when set (never credentials). */
  jobEnvPassthrough: env
    .list()
    .default([
      'LANG',
      'LC_ALL',
      'TZ',
      'CUDA_VISIBLE_DEVICES',
      'NVIDIA_VISIBLE_DEVICES',
      'NVIDIA_DRIVER_CAPABILITIES',
      'LD_LIBRARY_PATH',
    ]),

  // --- device load ----------------------------------------------------------------------------------
  /** How often the device load is written to Redis, in ms (also on every change). */
  loadIntervalMs: env.int(200, 600_000).default(5000),

  // --- environment cache (src/env) ----------------------------------------------------------------
  /** Folder of cached job virtualenvs (readable by the job user); default `<dataDir>/envs`. */
  envCacheDir: z.string().min(1).optional(),
  /** Disk quota of the environment cache, in bytes (LRU eviction above it; default 20 GiB). */
  envCacheMaxBytes: env.number(0).default(20 * 1024 * MiB),
  /** Free bytes the cache's disk must have for a new environment to be built (default 256 MiB). */
  envMinFreeBytes: env.number(0).default(256 * MiB),
  /** Give each venv its own pip (ensurepip, ~2 s per build); false: the host's pip installs into it. */
  envSeedPip: env.bool().default(true),
  /**
   * Create venvs and run pip as the job user (when jobs have a dedicated user, i.e. the service runs
   * as root): installing a source distribution runs the package's own setup code, which must never
   * run as root. The cache folder stays the service's; each build folder is handed to the job user.
   */
  envBuildAsJobUser: env.bool().default(true),
  /** pip index replacing PyPI (a private mirror). */
  pipIndexUrl: env.url().optional(),
  /** Extra pip indexes, comma-separated. */
  pipExtraIndexUrls: env.list().default([]),
  /** true: no index at all (only find-links, shipped wheels and direct URLs). */
  pipNoIndex: env.bool().default(false),
  /** Device-wide --find-links folders or URLs, comma-separated. */
  pipFindLinks: env.list().default([]),
  /** true: install wheels only (--only-binary :all:), so no sdist build code runs during install. */
  pipOnlyBinary: env.bool().default(false),
});
export type Config = z.infer<typeof ConfigSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): Config =>
  loadEnvConfig(ConfigSchema, source);
