// The contract between the executor's job pipeline and its Python environment cache.
//
// The pipeline asks for "an environment for this workspace's requirements"; the manager answers
// with a ready virtualenv (a cache hit costs no pip run) or a typed failure naming what failed.
import type { ReasonCode } from '@edgefleet/contracts';

export interface EnvironmentRequest {
  jobId: string;
  /** The job's workspace (inputs laid out side by side). Wheels shipped there are found via --find-links. */
  workspace: string;
  /** Workspace-relative requirements file, or undefined for "no install step" (a bare venv). */
  requirementsFile?: string;
  /** See the device's system site-packages (JetPack's CUDA builds). */
  systemSitePackages: boolean;
  /** Wall-clock limit for building the environment, in ms. */
  timeoutMs: number;
  /** Where the install log is written (kept with the job's logs). */
  logFile: string;
  /** Aborts an install in progress (cancel, shutdown). */
  signal?: AbortSignal;
  /**
   * Optional: workspace-relative path → sha256 hex of files already hashed while downloading, so
   * large shipped wheels are not read a second time to compute the cache key.
   */
  fileHashes?: Record<string, string>;
  /**
   * Containment of the build processes (venv, pip, a package's own build code), as for the job's run:
   * `open` runs before the first step starts (it makes the phase's cgroups and records them for crash
   * recovery; a cache hit starts no step and never calls it) and resolves to the cgroup.procs files
   * every step starts in, through the job launcher; every step carries `marker` in its environment,
   * and `sweep` (which must leave no process of the build behind) runs after each step, before the
   * environment is touched by the service as root.
   */
  containment?: {
    open: () => Promise<readonly string[]>;
    marker: Record<string, string>;
    sweep: () => Promise<void>;
  };
}

export type EnvironmentResult =
  | {
      ok: true;
      /** Absolute path of the virtualenv (its bin/python runs the job). */
      venvDir: string;
      /** The cache key (hex). */
      key: string;
      /** True when the environment came from the cache (no pip run). */
      hit: boolean;
      /** Time spent, in ms. */
      durationMs: number;
    }
  | {
      ok: false;
      code: Extract<ReasonCode, 'INSTALL_FAILED' | 'INSTALL_TIMEOUT' | 'CANCELED_BY_REQUEST' | 'DISK_FULL'>;
      /** One line naming what failed, e.g. the requirement line pip could not satisfy. */
      detail: string;
    };

export interface EnvironmentManager {
  ensure(req: EnvironmentRequest): Promise<EnvironmentResult>;
  /** Evicts least-recently-used environments until the cache is under its quota. */
  evict(): Promise<{ removed: string[]; bytesFreed: number }>;
}
