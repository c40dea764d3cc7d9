// The periodic sweep: resends notifications recorded as undelivered (the body kept on the record, so a
// resend is byte for byte the same, with the same idempotency key and a fresh signature timestamp) until
// EDGEFLEET_NOTIFY_OUTAGE_SECONDS have passed since it was first recorded undelivered, and
// deletes job folders kept for debugging once EDGEFLEET_KEEP_JOB_DIR_SECONDS have passed since their
// successful upload, and folders whose outputs were never uploaded (UPLOAD_FAILED after the outage
// budget, access denied…) once EDGEFLEET_KEEP_FAILED_SECONDS have passed since the job ended. It walks the job index (bounded by the records' retention) in pages.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTerminal, JobState, type RedisNames } from '@edgefleet/contracts';
import { errorFields, transitionJob } from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NOTIFY_FIELDS, readOwed } from './adapters/job-store.js';
import type { Channel } from './core/notification.js';
import type { NotificationDispatcher } from './notification-dispatcher.js';

export interface SweeperOptions {
  redis: Redis;
  names: RedisNames;
  dispatcher: NotificationDispatcher;
  service: string;
  dataDir: string;
  intervalMs: number;
  /** Deadline of one resend, in ms. */
  deadlineMs: number;
  /**
   * Seconds a notification is resent after it was first recorded undelivered (EDGEFLEET_NOTIFY_OUTAGE_SECONDS);
   * past it, the record keeps `undelivered`, its owed fields are dropped and it is not sent again.
   */
  outageSeconds: number;
  keepJobDirSeconds: number;
  keepFailedSeconds: number;
  logger: Logger;
  now?: () => number;
}

export interface SweepReport {
  resent: number;
  delivered: number;
  foldersDeleted: number;
}

const PAGE = 500;

export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly o: SweeperOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'sweeper' });
  }

  start(): void {
    const tick = () => {
      this.timer = setTimeout(async () => {
        await this.runOnce().catch((err) => this.log.warn({ err: errorFields(err) }, 'sweep failed'));
        if (!this.abort.signal.aborted) tick();
      }, this.o.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  /** One sweep (runs are never concurrent: a second call waits for and returns the first's report). */
  runOnce(): Promise<SweepReport> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<SweepReport> {
    const report: SweepReport = { resent: 0, delivered: 0, foldersDeleted: 0 };
    for (let start = 0; !this.abort.signal.aborted; start += PAGE) {
      const ids = await this.o.redis.zrange(this.o.names.jobIndex, start, start + PAGE - 1);
      if (ids.length === 0) break;
      for (const owed of await readOwed(this.o.redis, this.o.names, ids)) {
        if (this.abort.signal.aborted) break;
        report.resent++;
        if (await this.resend(owed)) report.delivered++;
      }
      report.foldersDeleted += await this.expireFolders(ids);
    }
    if (report.resent || report.foldersDeleted) this.log.info(report, 'sweep done');
    return report;
  }

  private async resend(owed: Awaited<ReturnType<typeof readOwed>>[number]): Promise<boolean> {
    const log = this.log.child({ jobId: owed.jobId });
    const state = JobState.safeParse(owed.state);
    if (!state.success) return false;
    // Records written before notifySince existed start their budget at this sweep.
    const since = owed.since ?? this.now();
    const budgetEndsAt = since + this.o.outageSeconds * 1000;
    if (this.now() >= budgetEndsAt) {
      await this.giveUp(owed.jobId, state.data, 'no resend', log);
      return false;
    }
    const pending = new Set(owed.pending as Channel[]);
    const report = await this.o.dispatcher.deliver(
      {
        jobId: owed.jobId,
        state: owed.state as JobState,
        idempotencyKey: keyOf(owed.payload, owed.jobId, owed.state),
      },
      owed.payload,
      { sqs: pending.has('sqs'), webhook: pending.has('webhook') ? owed.webhook : undefined },
      Math.max(0, Math.min(this.o.deadlineMs, budgetEndsAt - this.now())),
      this.abort.signal,
      log,
    );
    const delivered = report.status !== 'undelivered';
    if (!delivered && this.now() >= budgetEndsAt) {
      await this.giveUp(owed.jobId, state.data, report.detail, log);
      return false;
    }
    const r = await transitionJob(this.o.redis, this.o.names, {
      jobId: owed.jobId,
      from: [state.data],
      by: this.o.service,
      now: this.now(),
      set: delivered
        ? { notifyStatus: 'delivered', notifyDetail: `resent by the sweep: ${report.detail}`.slice(0, 4096) }
        : {
            notifyDetail: `still undelivered: ${report.detail}`.slice(0, 4096),
            [NOTIFY_FIELDS.pending]: report.pending.join(','),
            [NOTIFY_FIELDS.since]: String(since),
          },
      ...(delivered ? { unset: Object.values(NOTIFY_FIELDS) } : {}),
    });
    log.info({ delivered, detail: report.detail, recorded: r.ok }, 'undelivered notification resent');
    return delivered;
  }

  /** The outage budget is spent: the record stays `undelivered`, with nothing left owed. */
  private async giveUp(jobId: string, state: JobState, lastDetail: string, log: Logger): Promise<void> {
    const detail = `undelivered after the notification outage budget (${this.o.outageSeconds} s); last: ${lastDetail}`;
    const r = await transitionJob(this.o.redis, this.o.names, {
      jobId,
      from: [state],
      by: this.o.service,
      now: this.now(),
      set: { notifyStatus: 'undelivered', notifyDetail: detail.slice(0, 4096) },
      unset: Object.values(NOTIFY_FIELDS),
    });
    log.warn(
      { outageSeconds: this.o.outageSeconds, recorded: r.ok },
      'notification given up after its outage budget',
    );
  }

  private async expireFolders(ids: string[]): Promise<number> {
    const pipe = this.o.redis.pipeline();
    for (const id of ids) pipe.hmget(this.o.names.jobKey(id), 'state', 'resultUri', 'updatedAt');
    const rows = (await pipe.exec()) ?? [];
    let deleted = 0;
    const now = this.now();
    for (const [i, [err, v]] of rows.entries()) {
      const [state, resultUri, updatedAt] = (err ? [] : v) as (string | null)[];
      const id = ids[i];
      const parsed = JobState.safeParse(state);
      if (!id || !parsed.success || !isTerminal(parsed.data)) continue;
      const keepSeconds = resultUri ? this.o.keepJobDirSeconds : this.o.keepFailedSeconds;
      if (Number(updatedAt) > now - keepSeconds * 1000) continue;
      const dir = join(this.o.dataDir, 'jobs', id);
      try {
        await rm(dir, { recursive: true });
        deleted++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
          this.log.warn({ err: errorFields(e), jobId: id }, 'could not delete a job folder');
      }
    }
    return deleted;
  }
}

/** The idempotency key inside a stored body (falls back to `<jobId>:<state>`). */
function keyOf(payload: string, jobId: string, state: string): string {
  try {
    const k = (JSON.parse(payload) as { idempotencyKey?: unknown }).idempotencyKey;
    if (typeof k === 'string') return k;
  } catch {
    // stored by this service: always JSON
  }
  return `${jobId}:${state}`;
}
