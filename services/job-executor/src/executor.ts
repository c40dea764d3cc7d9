// The job pipeline: one `jobs` entry in, one atomic "results entry + XACK" out (or an acknowledgement
// for a job that is already over). Decisions live in core/; this file sequences the adapters.
//
//   record → decideStart → DOWNLOADING (attempt+1, fresh job folder, free-disk check, list, plan,
//   download) → INSTALLING (environment cache) → RUNNING (launcher, limits, tail) → outcome →
//   transitionJob(guard = current state, XADD results, XACK jobs).
//
// The executor never records a terminal state for a job that reached DOWNLOADING: the uploader does,
// after uploading output/ and logs/ (contracts' job-state.ts). Cancel (control channel or the
// record's flag, checked between phases) and shutdown abort the job's AbortController; a shutdown
// leaves the entry pending (`retry`) so the next start runs the job again as a new attempt.
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  EXECUTOR_HANDED_OFF_FIELD,
  encodeEntry,
  GROUPS,
  type JobMessage,
  type JobState,
  type JobsEntry,
  type ReasonCode,
  type RedisNames,
  type ResultsEntry,
  type TerminalState,
} from '@edgefleet/contracts';
import {
  ack,
  acked,
  type BackoffPolicy,
  deadLetter,
  errorFields,
  type HandlerOutcome,
  recordWaiting,
  retry,
  type StreamEntry,
  transitionJob,
  WAITING_SINCE,
  type Waiting,
  waitOutOutage,
} from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type CgroupSupport, createJobCgroup, removeCgroupDirs } from './adapters/cgroup.js';
import { freeDiskBytes } from './adapters/device-load.js';
import { startDiskGuard } from './adapters/disk-guard.js';
import { ensureResultFolders, type JobDirs, prepareJobFolder } from './adapters/job-folder.js';
import type { JobUser } from './adapters/job-user.js';
import { createLogTail } from './adapters/log-tail.js';
import { type KillTarget, killJobProcesses, runJobProcess } from './adapters/process-runner.js';
import { currentBootId, type RunStateStore } from './adapters/run-state.js';
import { downloadFiles, listInputs } from './adapters/s3-downloader.js';
import type { EnvironmentManager } from './core/env/types.js';
import { buildJobEnv } from './core/job-env.js';
import { diskShortfall, type EffectiveLimits, effectiveLimits } from './core/limits.js';
import { type Outcome, runOutcome } from './core/outcome.js';
import { decideStart, type RecordView } from './core/phases.js';
import { planWorkspace } from './core/workspace-plan.js';

export const BY = 'job-executor';
/** Record field set when the executor hands a result to the uploader (cleared by a new attempt). */
const HANDED_OFF = EXECUTOR_HANDED_OFF_FIELD;

export interface ExecutorSettings {
  dataDir: string;
  maxAttempts: number;
  allowedBuckets: readonly string[];
  maxInputBytes: number;
  maxInputFiles: number;
  minFreeDiskBytes: number;
  downloadConcurrency: number;
  /** Seconds a download may go without progress through an S3 outage before DOWNLOAD_FAILED. */
  downloadOutageSeconds: number;
  pythonBin: string;
  defaultTimeoutSeconds: number;
  defaultInstallTimeoutSeconds: number;
  defaultMemoryMiB: number;
  killGraceMs: number;
  memoryLimitMode: 'cgroup' | 'rlimit' | 'none';
  maxProcesses: number;
  maxLogBytes: number;
  defaultOutputMiB: number;
  diskCheckMs: number;
  logTailMaxEntries: number;
  jobEnvPassthrough: readonly string[];
  /** Supplementary groups of job processes (adapters/job-groups.ts); default none. */
  jobGroups?: readonly number[];
  /** Concurrency of the device: uid matching of stray processes is safe only at 1. */
  concurrency: number;
}

export interface ExecutorDeps {
  settings: ExecutorSettings;
  redis: Redis;
  names: RedisNames;
  s3: S3Client;
  environments: EnvironmentManager;
  cgroups: CgroupSupport;
  jobUser: JobUser;
  runState: RunStateStore;
  logger: Logger;
  node: string;
  serviceEnv: Record<string, string | undefined>;
  onRunningChange?: (running: number) => void;
  now?: () => number;
  /** Random source of the outage backoff's jitter, [0, 1). */
  random?: () => number;
  /** Backoff while waiting out an outage (default service-kit's OUTAGE_BACKOFF). */
  outageBackoff?: BackoffPolicy;
}

type Step = { ok: true } | { ok: false; outcome: Outcome };
const stop = (state: TerminalState, reason: ReasonCode, detail: string): Step => ({
  ok: false,
  outcome: { state, reason, detail },
});
const CANCELED: Outcome = { state: 'CANCELED', reason: 'CANCELED_BY_REQUEST', detail: 'canceled by request' };

class HandBack extends Error {}

/** One attempt of a job while it runs here: what its phases share. */
interface JobRun {
  entry: StreamEntry<JobsEntry>;
  jobId: string;
  message: JobMessage;
  /** This attempt's number (the record's attempt + 1). */
  attempt: number;
  /** Aborted with 'cancel' or 'shutdown'. */
  ac: AbortController;
  log: Logger;
  /** The record's state as this attempt last moved it. */
  state: JobState;
  /** The cgroups of the phase running (install or run); removed when the attempt ends. */
  cgroupDirs: string[];
  timings: NonNullable<ResultsEntry['timings']>;
  /** Stops listening to the consumer's shutdown. */
  release(): void;
}

/** A job whose folder is prepared and limits known (after DOWNLOADING began). */
type ReadyJob = JobRun & { dirs: JobDirs; limits: EffectiveLimits };

export class JobExecutor {
  private readonly active = new Map<string, AbortController>();
  /** Resolved when no job runs any more (idle()). */
  private readonly idleWaiters = new Set<() => void>();
  private readonly now: () => number;
  constructor(private readonly d: ExecutorDeps) {
    this.now = d.now ?? Date.now;
  }

  get running(): number {
    return this.active.size;
  }

  /** Ids of the jobs running here. */
  runningIds(): string[] {
    return [...this.active.keys()];
  }

  /** A cancel from the control channel: stops the job within seconds if it runs here. */
  cancel(jobId: string): boolean {
    const ac = this.active.get(jobId);
    if (!ac) return false;
    ac.abort('cancel');
    return true;
  }

  /**
   * Shutdown: hand back every running job at once (its processes are stopped: SIGTERM, grace, SIGKILL;
   * its entry stays pending and runs again, as a new attempt, after the restart). Jobs can run for
   * hours, so waiting for them would only turn a clean stop into a kill -9 at the deadline.
   */
  async stopAll(timeoutMs: number): Promise<void> {
    for (const ac of this.active.values()) ac.abort('shutdown');
    await this.idle(timeoutMs);
  }

  /** True once no job runs here (at once when none does), false when `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(wake);
        resolve(ok);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(wake);
    });
  }

  private async readRecord(jobId: string): Promise<RecordView | null> {
    const [state, attempt, cancelRequested, handedOff] = await this.d.redis.hmget(
      this.d.names.jobKey(jobId),
      'state',
      'attempt',
      'cancelRequested',
      HANDED_OFF,
    );
    if (!state) return null;
    return {
      state: state as JobState,
      attempt: Number(attempt ?? 0),
      cancelRequested: cancelRequested === '1',
      handedOff: !!handedOff,
    };
  }

  private async cancelRequested(jobId: string, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted && signal.reason === 'cancel') return true;
    return (await this.d.redis.hget(this.d.names.jobKey(jobId), 'cancelRequested')) === '1';
  }

  /** Shows on the record that the job waits out an outage, or no longer does. */
  private async showWaiting(jobId: string, state: JobState, w: Waiting | null, log: Logger): Promise<void> {
    if (w) log.warn({ failures: w.failures, retryInMs: w.retryInMs, err: w.detail }, 'waiting out an outage');
    else log.info('outage over: progressing again');
    await recordWaiting(this.d.redis, this.d.names, jobId, state, 'S3', w).catch((e) =>
      log.warn({ err: errorFields(e) }, 'could not show the wait on the record'),
    );
  }

  /** The StreamConsumer handler. */
  async handle(entry: StreamEntry<JobsEntry>, consumerSignal: AbortSignal): Promise<HandlerOutcome> {
    const { jobId } = entry.value;
    const log = this.d.logger.child({ component: 'pipeline', jobId });
    if (this.active.has(jobId)) {
      log.warn('duplicate entry for a job running here: acknowledged');
      return ack();
    }
    const rec = await this.readRecord(jobId);
    const decision = decideStart(rec, this.d.settings.maxAttempts);
    switch (decision.kind) {
      case 'missing':
        return deadLetter('INTERNAL_ERROR', 'no job record for this entry');
      case 'ack':
        log.info({ why: decision.why }, 'acknowledged without running');
        return ack();
      case 'cancel-queued': {
        const result = this.resultEntry(
          jobId,
          { state: 'CANCELED', reason: 'CANCELED_BY_REQUEST' },
          {
            hasFiles: false,
            attempt: rec?.attempt ?? 0,
          },
        );
        const r = await transitionJob(this.d.redis, this.d.names, {
          jobId,
          to: 'CANCELED',
          from: ['QUEUED'],
          reason: 'CANCELED_BY_REQUEST',
          by: BY,
          now: this.now(),
          xadd: [{ stream: this.d.names.resultsStream, fields: encodeEntry(result), maxLen: 100_000 }],
          xack: [{ stream: this.d.names.jobsStream, group: GROUPS.executor, ids: [entry.id] }],
        });
        return r.ok ? acked() : retry(`record changed: ${r.status}`);
      }
      case 'cancel-started':
        return this.finish(entry, rec!.state, CANCELED, { attempt: rec!.attempt }, log);
      case 'exhausted':
        return this.finish(
          entry,
          rec!.state,
          {
            state: 'FAILED',
            reason: 'ATTEMPTS_EXHAUSTED',
            detail: `${decision.attempts} attempts started and none finished (executor crashed or stopped)`,
          },
          { attempt: rec!.attempt },
          log,
        );
      case 'run':
        return this.run(entry, decision, rec!, consumerSignal, log);
    }
  }

  /** Hands the outcome to the uploader and acknowledges the job, atomically, guarded by `from`. */
  private async finish(
    entry: StreamEntry<JobsEntry>,
    from: JobState,
    outcome: Outcome,
    extra: Partial<ResultsEntry> & { attempt: number },
    log: Logger,
  ): Promise<HandlerOutcome> {
    const { jobId } = entry.value;
    const dirs = await ensureResultFolders(this.d.settings.dataDir, jobId);
    const result = this.resultEntry(jobId, outcome, { hasFiles: true, jobDir: dirs.root, ...extra });
    const r = await transitionJob(this.d.redis, this.d.names, {
      jobId,
      from: [from],
      by: BY,
      now: this.now(),
      set: {
        [HANDED_OFF]: String(this.now()),
        ...(extra.exitCode !== undefined && extra.exitCode !== null
          ? { exitCode: String(extra.exitCode) }
          : {}),
      },
      xadd: [{ stream: this.d.names.resultsStream, fields: encodeEntry(result), maxLen: 100_000 }],
      xack: [{ stream: this.d.names.jobsStream, group: GROUPS.executor, ids: [entry.id] }],
      unset: [WAITING_SINCE],
    });
    if (r.ok) {
      log.info(
        { state: outcome.state, reason: outcome.reason, exitCode: extra.exitCode },
        'job handed to the uploader',
      );
      return acked();
    }
    if (r.status === 'TERMINAL') return ack();
    return retry(`could not hand off: record is ${r.current} (${r.status})`);
  }

  private resultEntry(
    jobId: string,
    outcome: Outcome,
    extra: Partial<ResultsEntry> & { hasFiles: boolean; attempt: number },
  ): ResultsEntry {
    return {
      jobId,
      event: 'terminal',
      state: outcome.state,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      ...(outcome.detail ? { detail: outcome.detail.slice(0, 4096) } : {}),
      node: this.d.node,
      timings: {},
      at: this.now(),
      ...extra,
    };
  }

  /**
   * One attempt of a job, as the sequence of its phases: DOWNLOADING (fresh folder, inputs), INSTALLING
   * (environment), RUNNING (the entry script), then the hand-off to the uploader. A phase that ends the
   * job returns its outcome, handed off at once; a shutdown hands the job back (HandBack).
   */
  private async run(
    entry: StreamEntry<JobsEntry>,
    decision: { from: JobState; rerun: boolean },
    rec: RecordView,
    consumerSignal: AbortSignal,
    log: Logger,
  ): Promise<HandlerOutcome> {
    if (consumerSignal.aborted) return retry('shutting down');
    const job = this.begin(entry, decision.from, rec, consumerSignal, log);
    try {
      if (!(await this.enterDownloading(job, decision.rerun))) return ack();
      const ready = await this.prepare(job);
      const downloaded = await this.download(ready);
      if (!downloaded.ok) return await this.handOffStopped(job, downloaded.outcome);
      await this.move(job, 'INSTALLING');
      const env = await this.install(ready);
      if (!env.ok) return await this.handOffStopped(job, env.outcome);
      await this.enterRunning(job);
      return await this.execute(ready, env.venvDir);
    } catch (e) {
      return await this.failed(job, e);
    } finally {
      await this.end(job);
    }
  }

  /** Registers the job as running here; a shutdown of the consumer hands it back. */
  private begin(
    entry: StreamEntry<JobsEntry>,
    from: JobState,
    rec: RecordView,
    consumerSignal: AbortSignal,
    log: Logger,
  ): JobRun {
    const ac = new AbortController();
    const onShutdown = () => ac.abort('shutdown');
    consumerSignal.addEventListener('abort', onShutdown, { once: true });
    const job: JobRun = {
      entry,
      jobId: entry.value.jobId,
      message: entry.value.message,
      attempt: rec.attempt + 1,
      ac,
      log,
      state: from,
      cgroupDirs: [],
      timings: { queuedMs: Math.max(0, this.now() - entry.value.receivedAt) },
      release: () => consumerSignal.removeEventListener('abort', onShutdown),
    };
    this.active.set(job.jobId, ac);
    this.d.onRunningChange?.(this.active.size);
    return job;
  }

  /** Moves the job's record from its current state to `to` (throws when the record refuses). */
  private async move(
    job: JobRun,
    to: JobState,
    extra: Partial<Parameters<typeof transitionJob>[2]> = {},
  ): Promise<void> {
    const r = await transitionJob(this.d.redis, this.d.names, {
      jobId: job.jobId,
      to,
      from: [job.state],
      by: BY,
      now: this.now(),
      ...extra,
    });
    if (!r.ok)
      throw Object.assign(new Error(`transition ${job.state} → ${to} refused: ${r.status}`), { refused: r });
    job.state = to;
  }

  /** A phase's step, then the checks between phases: a shutdown hands the job back, a cancel ends it. */
  private async phase(job: JobRun, f: () => Promise<Step>): Promise<Step> {
    const step = await f();
    if (!step.ok) return step;
    if (job.ac.signal.reason === 'shutdown') throw new HandBack();
    if (await this.cancelRequested(job.jobId, job.ac.signal)) return { ok: false, outcome: CANCELED };
    return step;
  }

  /** QUEUED (or a rerun's state) → DOWNLOADING, a new attempt. False when the job is already over. */
  private async enterDownloading(job: JobRun, rerun: boolean): Promise<boolean> {
    try {
      await this.move(job, 'DOWNLOADING', {
        incrAttempt: true,
        set: { node: this.d.node },
        unset: [HANDED_OFF, 'exitCode', WAITING_SINCE],
        ...(rerun
          ? {
              reason: 'EXECUTOR_CRASHED',
              detail: `attempt ${job.attempt}: the previous attempt did not finish`,
            }
          : {}),
      });
      return true;
    } catch (e) {
      const refused = (e as { refused?: { status: string } }).refused;
      if (refused?.status === 'TERMINAL') return false;
      throw e;
    }
  }

  /** A fresh job folder (whatever an earlier attempt left running dies first) and the job's limits. */
  private async prepare(job: JobRun): Promise<ReadyJob> {
    await killJobProcesses({ jobId: job.jobId, cgroupDirs: [] });
    const dirs = await prepareJobFolder(this.d.settings.dataDir, job.jobId, this.d.jobUser);
    return Object.assign(job, { dirs, limits: effectiveLimits(job.message.limits, this.d.settings) });
  }

  /** DOWNLOADING: free disk, list and plan the inputs, download them (waiting out S3 outages). */
  private async download(job: ReadyJob): Promise<Step> {
    const s = this.d.settings;
    const { jobId, message, dirs, ac, log } = job;
    const t0 = this.now();
    const downloaded = await this.phase(job, async () => {
      const short = diskShortfall(await freeDiskBytes(s.dataDir), 0, s.minFreeDiskBytes);
      if (short) return stop('FAILED', 'DISK_FULL', short);
      const planLimits = { maxFiles: s.maxInputFiles, maxBytes: s.maxInputBytes };
      // Files verified by an earlier try of this attempt are not fetched again after an outage.
      const done = new Set<string>();
      const fetched = await waitOutOutage({
        budgetMs: s.downloadOutageSeconds * 1000,
        signal: ac.signal,
        now: this.now,
        ...(this.d.random ? { random: this.d.random } : {}),
        ...(this.d.outageBackoff ? { policy: this.d.outageBackoff } : {}),
        onWaiting: (w) => this.showWaiting(jobId, 'DOWNLOADING', w, log),
        attempt: async (progress) => {
          const listed = await listInputs(this.d.s3, message.inputs, {
            allowedBuckets: s.allowedBuckets,
            limits: planLimits,
            signal: ac.signal,
          });
          if (!listed.ok) return listed;
          const plan = planWorkspace(listed.inputs, planLimits);
          if (!plan.ok) return { ok: false as const, code: plan.code, detail: plan.detail };
          const short2 = diskShortfall(await freeDiskBytes(s.dataDir), plan.totalBytes, s.minFreeDiskBytes);
          if (short2) return { ok: false as const, code: 'DISK_FULL' as const, detail: short2 };
          return downloadFiles(this.d.s3, plan.files, {
            workDir: dirs.work,
            partialDir: dirs.partial,
            concurrency: s.downloadConcurrency,
            signal: ac.signal,
            done,
            onProgress: progress,
          });
        },
      });
      if (!fetched.ok)
        return stop(
          'FAILED',
          'exhausted' in fetched ? 'DOWNLOAD_FAILED' : fetched.code,
          'exhausted' in fetched
            ? `S3 unreachable, EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS=${s.downloadOutageSeconds} spent: ${fetched.detail}`
            : fetched.detail,
        );
      const entry = await lstat(join(dirs.work, message.code.entrypoint)).catch(() => null);
      if (!entry?.isFile())
        return stop(
          'FAILED',
          'ENTRYPOINT_MISSING',
          `${message.code.entrypoint} is not a file in the workspace`,
        );
      if (message.code.requirements) {
        const req = await lstat(join(dirs.work, message.code.requirements)).catch(() => null);
        if (!req?.isFile())
          return stop(
            'FAILED',
            'INSTALL_FAILED',
            `${message.code.requirements} is not a file in the workspace`,
          );
      }
      return { ok: true };
    });
    job.timings.downloadMs = this.now() - t0;
    return downloaded;
  }

  /**
   * INSTALLING: the job's environment from the cache, or built. The install phase is contained like
   * the run: its own cgroup, the job's marker, the uid sweep, a run-state record for crash recovery;
   * nothing of it survives the phase, whatever its outcome. All of it is set up when the first build
   * step is about to start: an environment reused from the cache starts no process as the job user,
   * so it has nothing to contain or sweep.
   */
  private async install(
    job: ReadyJob,
  ): Promise<{ ok: true; venvDir: string } | { ok: false; outcome: Outcome }> {
    const s = this.d.settings;
    const { jobId, message, dirs, limits, ac, log } = job;
    const t1 = this.now();
    let venvDir = '';
    const user = this.d.jobUser.dedicated ? this.d.jobUser : undefined;
    let installTarget: KillTarget | undefined;
    let installOpened: Promise<readonly string[]> | undefined;
    const openInstall = () => {
      installOpened ??= (async () => {
        const installCgroup = await this.jobCgroup(`${jobId}@install`, undefined);
        job.cgroupDirs = installCgroup?.dirs ?? [];
        const target = {
          jobId,
          cgroupDirs: job.cgroupDirs,
          ...(user && s.concurrency === 1 ? { uid: user.uid } : {}),
        };
        installTarget = target;
        await this.d.runState.write({ ...target, startedAt: this.now() });
        return installCgroup?.procsFiles ?? [];
      })();
      return installOpened;
    };
    const sweepInstall = async () => {
      if (!installOpened) return;
      await installOpened.catch(() => undefined);
      const left = await killJobProcesses(installTarget ?? { jobId, cgroupDirs: job.cgroupDirs });
      if (left.length) log.error({ pids: left }, 'install processes survived every kill sweep');
    };
    const installed = await this.phase(job, async () => {
      const env = await this.d.environments.ensure({
        containment: {
          open: openInstall,
          marker: { EDGEFLEET_JOB_ID: jobId },
          sweep: sweepInstall,
        },
        jobId,
        workspace: dirs.work,
        ...(message.code.requirements ? { requirementsFile: message.code.requirements } : {}),
        systemSitePackages: message.code.systemSitePackages ?? false,
        timeoutMs: limits.installTimeoutMs,
        logFile: join(dirs.logs, 'install.log'),
        signal: ac.signal,
      });
      if (!env.ok)
        return stop(
          env.code === 'INSTALL_TIMEOUT'
            ? 'TIMED_OUT'
            : env.code === 'CANCELED_BY_REQUEST'
              ? 'CANCELED'
              : 'FAILED',
          env.code,
          env.detail,
        );
      venvDir = env.venvDir;
      log.info({ envKey: env.key, hit: env.hit, ms: env.durationMs }, 'environment ready');
      return { ok: true };
    });
    if (installOpened) {
      await sweepInstall();
      await removeCgroupDirs(job.cgroupDirs);
      job.cgroupDirs = [];
    }
    job.timings.installMs = this.now() - t1;
    return installed.ok ? { ok: true, venvDir } : installed;
  }

  /** INSTALLING → RUNNING (with a `running` results entry when the job asked to be told). */
  private async enterRunning(job: JobRun): Promise<void> {
    const running: ResultsEntry = {
      jobId: job.jobId,
      event: 'running',
      state: 'RUNNING',
      hasFiles: false,
      attempt: job.attempt,
      node: this.d.node,
      timings: {},
      at: this.now(),
    };
    await this.move(job, 'RUNNING', {
      ...(job.message.notify.onRunning
        ? { xadd: [{ stream: this.d.names.resultsStream, fields: encodeEntry(running), maxLen: 100_000 }] }
        : {}),
    });
  }

  /**
   * RUNNING: the entry script in the job's cgroup, as the job user, with its limits, its output
   * tailed and its disk use guarded; then the outcome handed to the uploader.
   */
  private async execute(job: ReadyJob, venvDir: string): Promise<HandlerOutcome> {
    const s = this.d.settings;
    const { jobId, message, dirs, limits, ac, log } = job;
    const user = this.d.jobUser.dedicated ? this.d.jobUser : undefined;
    const cgroup = await this.jobCgroup(
      jobId,
      s.memoryLimitMode === 'cgroup' ? limits.memoryBytes : undefined,
    );
    job.cgroupDirs = cgroup?.dirs ?? [];
    if (s.memoryLimitMode === 'cgroup' && limits.memoryBytes && !cgroup?.memoryLimited)
      log.warn('no cgroup memory controller here: the job runs without a memory limit');
    const stateRec = {
      jobId,
      cgroupDirs: job.cgroupDirs,
      startedAt: this.now(),
      ...(user && s.concurrency === 1 ? { uid: user.uid } : {}),
    };
    await this.d.runState.write(stateRec);
    const tail = createLogTail({
      redis: this.d.redis,
      key: this.d.names.logTailKey(jobId),
      maxLen: s.logTailMaxEntries,
      logger: log,
    });
    // The run stops on cancel/shutdown (the job's controller) or when the disk guard says so.
    const runAbort = new AbortController();
    const onJobAbort = () => runAbort.abort(ac.signal.reason);
    if (ac.signal.aborted) onJobAbort();
    ac.signal.addEventListener('abort', onJobAbort, { once: true });
    const guard = startDiskGuard({
      dataDir: s.dataDir,
      folders: [dirs.output, dirs.tmp],
      budget: { quotaBytes: limits.outputBytes, reserveBytes: s.minFreeDiskBytes },
      intervalMs: s.diskCheckMs,
      onVerdict: (v) => {
        log.warn({ reason: v.reason, detail: v.detail }, 'disk budget exceeded: stopping the job');
        runAbort.abort('disk');
      },
    });
    const result = await runJobProcess({
      jobId,
      launcherPython: s.pythonBin,
      argv: [join(venvDir, 'bin', 'python'), message.code.entrypoint, ...message.code.args],
      cwd: dirs.work,
      env: buildJobEnv({
        jobId,
        jobDir: dirs.root,
        outputDir: dirs.output,
        tmpDir: dirs.tmp,
        venvDir,
        user: this.d.jobUser.name,
        serviceEnv: this.d.serviceEnv,
        passthrough: s.jobEnvPassthrough,
        jobEnv: message.env,
      }),
      ...(user
        ? {
            user: { uid: user.uid, gid: user.gid, groups: s.jobGroups ?? [] },
            matchUid: s.concurrency === 1,
          }
        : {}),
      nproc: s.maxProcesses,
      ...(s.memoryLimitMode === 'rlimit' && limits.memoryBytes
        ? { addressSpaceBytes: limits.memoryBytes }
        : {}),
      cgroup,
      timeoutMs: limits.timeoutMs,
      killGraceMs: s.killGraceMs,
      maxLogBytes: s.maxLogBytes,
      stdoutPath: join(dirs.logs, 'stdout.log'),
      stderrPath: join(dirs.logs, 'stderr.log'),
      onOutput: (stream, chunk) => tail.write(stream, chunk),
      onSpawn: (pid) => this.d.runState.write({ ...stateRec, pgid: pid }),
      signal: runAbort.signal,
      logger: log,
    });
    await tail.close();
    job.timings.runMs = result.durationMs;
    guard.close();
    ac.signal.removeEventListener('abort', onJobAbort);
    if (result.stoppedFor === 'shutdown') throw new HandBack();
    let outcome = runOutcome(result, { timeoutMs: limits.timeoutMs, maxLogBytes: s.maxLogBytes });
    // A job that filled the disk faster than the guard looks may have died of ENOSPC first: the
    // disk, not its exit code, explains it.
    const disk =
      guard.verdict ??
      (outcome.state === 'FAILED' && !result.stoppedFor ? await guard.check().catch(() => null) : null);
    if (disk && (result.stoppedFor === 'disk' || !result.stoppedFor))
      outcome = { state: 'FAILED', reason: disk.reason, detail: disk.detail };
    // Temp files are never uploaded: give their space back now.
    await rm(dirs.tmp, { recursive: true, force: true }).catch(() => undefined);
    return await this.finish(
      job.entry,
      job.state,
      outcome,
      {
        attempt: job.attempt,
        timings: job.timings,
        exitCode: result.exitCode,
        ...(result.signal ? { signal: result.signal } : {}),
      },
      log,
    );
  }

  /** Hands off the outcome of a phase that ended the job (cancel → CANCELED, shutdown → hand back). */
  private handOffStopped(job: JobRun, outcome: Outcome): Promise<HandlerOutcome> {
    return this.finish(
      job.entry,
      job.state,
      this.abortAware(outcome, job.ac),
      { attempt: job.attempt, timings: job.timings },
      job.log,
    );
  }

  /** A shutdown hands the job back; anything else that threw ends it FAILED INTERNAL_ERROR. */
  private async failed(job: JobRun, e: unknown): Promise<HandlerOutcome> {
    const { jobId, log } = job;
    if (e instanceof HandBack) {
      await killJobProcesses({ jobId, cgroupDirs: job.cgroupDirs });
      log.info({ state: job.state }, 'executor stopping: job handed back (it runs again after restart)');
      return retry('shutdown');
    }
    log.error({ err: errorFields(e), state: job.state }, 'pipeline failed');
    await killJobProcesses({ jobId, cgroupDirs: job.cgroupDirs });
    if (job.state === 'QUEUED') return retry(`pipeline failed: ${(e as Error).message}`);
    return this.finish(
      job.entry,
      job.state,
      {
        state: 'FAILED',
        reason: 'INTERNAL_ERROR',
        detail: String((e as Error)?.message ?? e).slice(0, 500),
      },
      { attempt: job.attempt, timings: job.timings },
      log,
    );
  }

  /** Whatever the attempt ended with: its cgroups and run-state record go, it no longer runs here. */
  private async end(job: JobRun): Promise<void> {
    job.release();
    await removeCgroupDirs(job.cgroupDirs);
    await this.d.runState.remove(job.jobId).catch(() => undefined);
    this.active.delete(job.jobId);
    this.d.onRunningChange?.(this.active.size);
    if (this.active.size === 0) for (const wake of [...this.idleWaiters]) wake();
  }

  /** The cgroups of one phase of a job (`name` is its folder), or null where the host has none. */
  private async jobCgroup(name: string, memoryBytes: number | undefined) {
    const c = this.d.cgroups;
    if (!(c.v2 || c.v1Memory || c.v1Pids)) return null;
    return createJobCgroup(c, name, { memoryBytes, pidsMax: this.d.settings.maxProcesses });
  }

  /** A step that failed because the job was aborted: cancel → CANCELED, shutdown → hand back. */
  private abortAware(outcome: Outcome, ac: AbortController): Outcome {
    if (ac.signal.reason === 'shutdown') throw new HandBack();
    if (ac.signal.aborted || outcome.reason === 'CANCELED_BY_REQUEST') return CANCELED;
    return outcome;
  }
}

/** Start-up: kill everything a previous run of the executor left behind (kill -9, power cut). */
export async function recoverLeftovers(runState: RunStateStore, logger: Logger): Promise<number> {
  let n = 0;
  const boot = currentBootId();
  for (const rec of await runState.list()) {
    const sameBoot = !rec.bootId || rec.bootId === boot;
    const left = await killJobProcesses({
      jobId: rec.jobId,
      cgroupDirs: rec.cgroupDirs,
      ...(rec.pgid && sameBoot ? { pgid: rec.pgid } : {}),
      ...(rec.uid !== undefined && sameBoot ? { uid: rec.uid } : {}),
    });
    await removeCgroupDirs(rec.cgroupDirs);
    await runState.remove(rec.jobId);
    logger.warn(
      { jobId: rec.jobId, pgid: rec.pgid, survivors: left.length },
      'killed what a previous run left',
    );
    n++;
  }
  return n;
}
