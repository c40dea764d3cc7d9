// The receiver's side of Redis: hand-offs, rejections and cancels through the shared transition
// script (one atomic step each), durability, the backlog, and the reads behind the job API.
//
// Guarantees:
// - hand-off: NEW → QUEUED + XADD to `jobs`, atomically; a second hand-off of the same jobId (a
//   redelivered or duplicate message) is refused by the script (EXISTS/TERMINAL) and reported as
//   `duplicate`. `handOff` resolves only once the write is durable (WAITAOF, or AOF `appendfsync always`,
//   where Redis replies after the fsync).
// - reject: NEW → REJECTED + a terminal `results` entry (the uploader notifies the server).
// - cancel: QUEUED/NEW → CANCELED + terminal `results` entry; a running job gets cancelRequested and a
//   ControlMessage on the control channel (guard-only transition + PUBLISH, atomically).
import {
  type ControlMessage,
  decodeJobRecord,
  encodeEntry,
  GROUPS,
  isTerminal,
  type JobMessage,
  type JobRecord,
  type JobState,
  type JobSummary,
  type JobsEntry,
  type ReasonCode,
  type RedisNames,
  type ResultsEntry,
} from '@edgefleet/contracts';
import {
  type DurabilityInfo,
  type DurabilityMode,
  detectDurability,
  transitionJob,
  waitDurable,
} from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';

export type JobSource = JobsEntry['source'];

export interface JobStoreSettings {
  redis: Redis;
  names: RedisNames;
  /** Service name recorded in history. */
  by: string;
  node: string;
  /** Approximate cap of the jobs stream. */
  jobsMaxLen?: number;
  /** Approximate cap of the results stream. */
  resultsMaxLen?: number;
  /** Retention of terminal records, in seconds. */
  ttlSeconds?: number;
  now?: () => number;
}

export type HandOffResult =
  | { kind: 'queued'; streamId: string }
  /** The record already exists (redelivery, duplicate, or a cancel that arrived first). */
  | { kind: 'duplicate'; state: JobState | null };

export type RejectResult = { kind: 'rejected' } | { kind: 'duplicate'; state: JobState | null };

export type CancelResult =
  /** A queued job (`from` QUEUED) or a job not seen yet (`from` null) is now CANCELED. */
  | { kind: 'canceled'; from: 'QUEUED' | null }
  /** A running job: cancelRequested is set and the executor was told. */
  | { kind: 'cancel-requested'; state: JobState }
  | { kind: 'already-terminal'; state: JobState };

/** A stable error code for failures the caller retries (Redis down, durability not confirmed). */
class StoreError extends Error {
  constructor(
    readonly code: 'NOT_DURABLE' | 'DURABILITY_UNKNOWN',
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

const RUNNING_STATES = ['DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING'] as const;

/*
 * Index trim. KEYS[1] job index (zset). ARGV[1] cutoff score (ms), ARGV[2] record key prefix
 * (`<prefix>:job:`), ARGV[3] batch size, ARGV[4] offset. Looks at up to ARGV[3] members scored below the
 * cutoff (from ARGV[4]) and removes those whose record no longer exists (terminal records expire by TTL);
 * returns {removed, looked at}.
 * Atomic, so a jobId re-created between the check and the removal cannot lose its index entry.
 * (Record keys are derived from members, so this script is for a single Redis, not a cluster.)
 */
const TRIM_SCRIPT = `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', tonumber(ARGV[4]), tonumber(ARGV[3]))
local removed = 0
for _, id in ipairs(old) do
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then
    redis.call('ZREM', KEYS[1], id)
    removed = removed + 1
  end
end
return {removed, #old}
`;

type TrimClient = Redis & {
  edgefleetTrimIndex(numKeys: number, ...args: string[]): Promise<[number, number]>;
};

export class JobStore {
  private durability: DurabilityInfo | undefined;
  private readonly now: () => number;
  private readonly onReady = () => {
    this.durability = undefined; // a restarted server may have other settings: detect again
  };

  constructor(private readonly s: JobStoreSettings) {
    this.now = s.now ?? Date.now;
    s.redis.on('ready', this.onReady);
  }

  get names(): RedisNames {
    return this.s.names;
  }

  /** How writes are made durable (detected once per connection). Throws while Redis is down. */
  async durabilityInfo(): Promise<DurabilityInfo> {
    if (!this.durability) this.durability = await detectDurability(this.s.redis);
    return this.durability;
  }

  /** The durability mode, or undefined when Redis cannot be asked. */
  async durabilityMode(): Promise<DurabilityMode | undefined> {
    try {
      return (await this.durabilityInfo()).mode;
    } catch {
      return undefined;
    }
  }

  /** Waits until this connection's previous writes are durable; throws StoreError when that fails. */
  private async ensureDurable(): Promise<void> {
    const info = await this.durabilityInfo();
    if (!(await waitDurable(this.s.redis, info.mode, 5000, `${this.s.names.prefix}:durability:probe`)))
      throw new StoreError('NOT_DURABLE', 'WAITAOF did not confirm the write');
  }

  private terminalResult(jobId: string, state: 'REJECTED' | 'CANCELED', reason: ReasonCode, detail: string) {
    const entry: ResultsEntry = {
      jobId,
      event: 'terminal',
      state,
      reason,
      detail: detail.slice(0, 4096),
      hasFiles: false,
      attempt: 0,
      timings: {},
      at: this.now(),
      node: this.s.node,
    };
    return {
      stream: this.s.names.resultsStream,
      fields: encodeEntry(entry),
      maxLen: this.s.resultsMaxLen ?? 100_000,
    };
  }

  /** Creates the QUEUED record and XADDs the job, atomically, then waits until it is durable. */
  async handOff(message: JobMessage, source: JobSource, sqsMessageId?: string): Promise<HandOffResult> {
    const at = this.now();
    const entry: JobsEntry = {
      jobId: message.jobId,
      message,
      receivedAt: at,
      source,
      ...(sqsMessageId ? { sqsMessageId } : {}),
    };
    const r = await transitionJob(this.s.redis, this.s.names, {
      jobId: message.jobId,
      to: 'QUEUED',
      from: ['NEW'],
      by: this.s.by,
      now: at,
      set: { message: JSON.stringify(message), source, node: this.s.node },
      xadd: [
        { stream: this.s.names.jobsStream, fields: encodeEntry(entry), maxLen: this.s.jobsMaxLen ?? 100_000 },
      ],
      ...(this.s.ttlSeconds ? { ttlSeconds: this.s.ttlSeconds } : {}),
    });
    // A duplicate is deleted from SQS too: make sure what we saw is durable first (it may be a write of
    // ours whose reply was lost when the connection dropped).
    await this.ensureDurable();
    if (r.ok) return { kind: 'queued', streamId: r.streamIds[0] ?? '' };
    return { kind: 'duplicate', state: r.current };
  }

  /** NEW → REJECTED with a terminal results entry; an existing record is left alone. */
  async reject(jobId: string, code: ReasonCode, detail: string, source: JobSource): Promise<RejectResult> {
    const r = await transitionJob(this.s.redis, this.s.names, {
      jobId,
      to: 'REJECTED',
      from: ['NEW'],
      reason: code,
      detail,
      by: this.s.by,
      now: this.now(),
      set: { source, node: this.s.node },
      xadd: [this.terminalResult(jobId, 'REJECTED', code, detail)],
      ...(this.s.ttlSeconds ? { ttlSeconds: this.s.ttlSeconds } : {}),
    });
    await this.ensureDurable();
    return r.ok ? { kind: 'rejected' } : { kind: 'duplicate', state: r.current };
  }

  /**
   * Cancels a job: QUEUED (or not yet seen) → CANCELED with its terminal results entry; running →
   * cancelRequested + a ControlMessage; terminal → nothing. Retries when the job moved in between.
   */
  async cancel(jobId: string, reason: string | undefined, source: JobSource): Promise<CancelResult> {
    const detail = reason ? `canceled by request: ${reason}` : 'canceled by request';
    for (let attempt = 0; attempt < 5; attempt++) {
      const at = this.now();
      const r = await transitionJob(this.s.redis, this.s.names, {
        jobId,
        to: 'CANCELED',
        from: ['NEW', 'QUEUED'],
        reason: 'CANCELED_BY_REQUEST',
        detail,
        by: this.s.by,
        now: at,
        set: { cancelRequested: '1', node: this.s.node, ...(source ? { cancelSource: source } : {}) },
        xadd: [this.terminalResult(jobId, 'CANCELED', 'CANCELED_BY_REQUEST', detail)],
        ...(this.s.ttlSeconds ? { ttlSeconds: this.s.ttlSeconds } : {}),
      });
      if (r.ok) {
        await this.ensureDurable();
        return { kind: 'canceled', from: r.from === 'QUEUED' ? 'QUEUED' : null };
      }
      const current = r.current;
      if (current === null) continue; // vanished in between (expired): try again
      if (isTerminal(current)) return { kind: 'already-terminal', state: current };
      if (!(RUNNING_STATES as readonly string[]).includes(current)) continue;
      const control: ControlMessage = { kind: 'cancel', jobId, at };
      const g = await transitionJob(this.s.redis, this.s.names, {
        jobId,
        from: RUNNING_STATES,
        by: this.s.by,
        now: at,
        set: { cancelRequested: '1' },
        publish: [{ channel: this.s.names.controlChannel, message: JSON.stringify(control) }],
      });
      if (g.ok) {
        await this.ensureDurable();
        return { kind: 'cancel-requested', state: current };
      }
      if (g.status === 'TERMINAL' && g.current) return { kind: 'already-terminal', state: g.current };
    }
    throw new Error(`cancel of ${jobId}: the job kept changing state`);
  }

  /** The record with its history, or null when there is none (or it does not decode). */
  async get(jobId: string): Promise<JobRecord | null> {
    const [hash, history] = await Promise.all([
      this.s.redis.hgetall(this.s.names.jobKey(jobId)),
      this.s.redis.lrange(this.s.names.historyKey(jobId), 0, -1),
    ]);
    if (!hash || Object.keys(hash).length === 0) return null;
    const d = decodeJobRecord(hash, history);
    return d.ok ? d.record : null;
  }

  /** The record's state, or null when there is none. */
  async state(jobId: string): Promise<JobState | null> {
    return ((await this.s.redis.hget(this.s.names.jobKey(jobId), 'state')) as JobState | null) ?? null;
  }

  /**
   * Recent jobs from the index, newest first, after `after` (a cursor), optionally only in `state`.
   * Scans at most `scanLimit` index members per call; `next` is set when more may follow.
   */
  async list(opts: {
    limit: number;
    state?: JobState;
    after?: { score: number; jobId: string };
    scanLimit?: number;
  }): Promise<{ jobs: JobSummary[]; next?: { score: number; jobId: string } }> {
    const { redis, names } = this.s;
    const scanLimit = opts.scanLimit ?? 1000;
    const jobs: JobSummary[] = [];
    let cursor = opts.after;
    let scanned = 0;
    const page = Math.min(200, Math.max(opts.limit * 2, 20));
    for (;;) {
      const max = cursor ? String(cursor.score) : '+inf';
      // Members with the cursor's own score come first in this range; skip those not after the cursor.
      // (More than `page` jobs created in the same millisecond would be partly skipped: not a device's rate.)
      const batch = await redis.zrevrangebyscore(names.jobIndex, max, '-inf', 'WITHSCORES', 'LIMIT', 0, page);
      const members: { jobId: string; score: number }[] = [];
      for (let i = 0; i + 1 < batch.length; i += 2)
        members.push({ jobId: batch[i] as string, score: Number(batch[i + 1]) });
      const fresh = cursor
        ? members.filter((m) => {
            const c = cursor as { score: number; jobId: string };
            return m.score < c.score || (m.score === c.score && m.jobId < c.jobId);
          })
        : members;
      if (fresh.length === 0) {
        if (members.length < page) return { jobs };
        // A page full of members at the cursor's score, all already seen: step below that score.
        cursor = { score: (cursor?.score ?? 0) - 1, jobId: '\uffff' };
        continue;
      }
      const pipeline = redis.pipeline();
      for (const m of fresh)
        pipeline.hmget(names.jobKey(m.jobId), 'state', 'updatedAt', 'reason', 'source', 'cancelRequested');
      const rows = (await pipeline.exec()) ?? [];
      for (let i = 0; i < fresh.length; i++) {
        const m = fresh[i] as { jobId: string; score: number };
        cursor = m;
        scanned++;
        const [err, vals] = rows[i] ?? [null, null];
        const v = (err ? null : vals) as (string | null)[] | null;
        const state = v?.[0] as JobState | null | undefined;
        if (state && (!opts.state || opts.state === state)) {
          jobs.push({
            jobId: m.jobId,
            state,
            createdAt: m.score,
            ...(v?.[1] ? { updatedAt: Number(v[1]) } : {}),
            ...(v?.[2] ? { reason: v[2] } : {}),
            ...(v?.[3] ? { source: v[3] } : {}),
            cancelRequested: v?.[4] === '1',
          });
          if (jobs.length >= opts.limit) return { jobs, next: m };
        }
        if (scanned >= scanLimit) return { jobs, next: m };
      }
      if (members.length < page) return { jobs };
    }
  }

  /**
   * Jobs handed off but not yet taken by the executor, counted up to `cap` (enough for the back-pressure
   * gate): entries of the jobs stream after the executor group's last-delivered id (all entries while the
   * group does not exist yet: it will start from the beginning).
   */
  async backlog(cap: number): Promise<number> {
    const { redis, names } = this.s;
    let start = '-';
    try {
      const groups = (await redis.xinfo('GROUPS', names.jobsStream)) as unknown[][];
      for (const g of groups) {
        const rec: Record<string, unknown> = {};
        for (let i = 0; i + 1 < g.length; i += 2) rec[String(g[i])] = g[i + 1];
        if (rec.name === GROUPS.executor && typeof rec['last-delivered-id'] === 'string')
          start = `(${rec['last-delivered-id']}`;
      }
    } catch (e) {
      if (/no such key/i.test((e as Error).message)) return 0;
      throw e;
    }
    if (start === '(0-0') start = '-';
    const entries = await redis.xrange(names.jobsStream, start, '+', 'COUNT', cap);
    return entries.length;
  }

  /** Removes index members older than the cutoff whose record has expired; returns how many. */
  async trimIndex(cutoffMs: number, batch = 500): Promise<number> {
    const c = this.s.redis as TrimClient;
    if (typeof c.edgefleetTrimIndex !== 'function')
      this.s.redis.defineCommand('edgefleetTrimIndex', { lua: TRIM_SCRIPT });
    let total = 0;
    let offset = 0;
    for (let i = 0; i < 1000; i++) {
      const [removed, seen] = await c.edgefleetTrimIndex(
        1,
        this.s.names.jobIndex,
        String(Math.floor(cutoffMs)),
        this.s.names.jobKey(''),
        String(batch),
        String(offset),
      );
      total += removed;
      offset += seen - removed; // the members kept are skipped next time
      if (seen < batch) break;
    }
    return total;
  }

  close(): void {
    this.s.redis.off('ready', this.onReady);
  }
}
