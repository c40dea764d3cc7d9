// A Redis stream consumer with consumer-group semantics, in the manner of bullmq's workers.
//
// - Reads its own pending entries first (id 0): a restarted service finishes what it had taken.
// - Claims entries that another consumer left idle for `claimIdleMs` (XAUTOCLAIM): a consumer that
//   died does not strand its work. Entries being handled are kept fresh by a heartbeat (XCLAIM
//   JUSTID every claimIdleMs/3, which resets their idle time without counting a delivery), so a
//   long job is never taken from a live consumer.
// - An entry delivered more than `maxDeliveries` times, or one that does not decode, goes to the
//   dead stream with its reason and is acknowledged (by `deadLetter`, atomically).
// - Acknowledges only after the handler says the effect is durable (outcome `ack`), or never touches
//   the entry when the handler acknowledged it itself (`acked`). A handler that throws or returns
//   `retry` leaves the entry pending; it is delivered again once idle for claimIdleMs.
// - Transient Redis errors are logged and retried with backoff; the loop never dies.
import {
  type DeadEntry,
  type Decoded,
  encodeEntry,
  fieldsToRecord,
  type ReasonCode,
} from '@edgefleet/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from './backoff.js';
import { errorFields } from './logger.js';
import type { HandlerOutcome } from './outcome.js';

export interface StreamEntry<T> {
  id: string;
  value: T;
  /** How many times this entry has been delivered, this time included. */
  deliveries: number;
  fields: string[];
}

export interface DeadLetterRequest {
  id: string;
  fields: string[];
  jobId?: string;
  deliveries: number;
  reason: ReasonCode;
  detail: string;
}

export interface StreamConsumerOptions<T> {
  redis: Redis;
  stream: string;
  group: string;
  /** Stable per instance, so a restart re-reads its own pending entries. */
  consumer: string;
  deadStream: string;
  decode(fields: string[]): Decoded<T>;
  handle(entry: StreamEntry<T>, signal: AbortSignal): Promise<HandlerOutcome>;
  /**
   * Moves an entry to the dead stream and acknowledges it, atomically. The default writes a DeadEntry
   * and XACKs in one MULTI; services override it to also end the job (see deadLetterJob).
   */
  deadLetter?(req: DeadLetterRequest): Promise<void>;
  logger: Logger;
  /** Deliveries allowed before an entry is dead-lettered (default 5). */
  maxDeliveries?: number;
  /** Idle time in ms after which a pending entry is claimed from its consumer (default 30 000). */
  claimIdleMs?: number;
  /** How long one XREADGROUP blocks, in ms (default 2000); also the stop latency. */
  blockMs?: number;
  /** Entries handled at once (default 1). */
  concurrency?: number;
  /** Cap of the dead stream (XADD MAXLEN ~), default 10 000. */
  deadMaxLen?: number;
  now?: () => number;
}

type RawEntry = [id: string, fields: string[] | null];

/** The DeadEntry for a request, as stream fields. */
export function deadEntryFields(
  source: { stream: string; group: string; now?: () => number },
  req: DeadLetterRequest,
): string[] {
  const entry: DeadEntry = {
    stream: source.stream,
    entryId: req.id,
    group: source.group,
    reason: req.reason,
    detail: req.detail.slice(0, 4096),
    deliveries: req.deliveries,
    fields: fieldsToRecord(req.fields),
    at: (source.now ?? Date.now)(),
    ...(req.jobId ? { jobId: req.jobId } : {}),
  };
  return encodeEntry(entry);
}

export class StreamConsumer<T> {
  private readonly o: Required<Omit<StreamConsumerOptions<T>, 'deadLetter'>> &
    Pick<StreamConsumerOptions<T>, 'deadLetter'>;
  private blocking: Redis | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private slotFreed: (() => void) | undefined;
  /** Counters for /metrics and tests. */
  readonly stats = {
    handled: 0,
    acked: 0,
    retried: 0,
    deadLettered: 0,
    claimed: 0,
    claimRounds: 0,
    errors: 0,
  };

  constructor(options: StreamConsumerOptions<T>) {
    this.o = {
      maxDeliveries: 5,
      claimIdleMs: 30_000,
      blockMs: 2000,
      concurrency: 1,
      deadMaxLen: 10_000,
      now: Date.now,
      ...options,
    };
  }

  /** Creates the group if needed (at the stream's start, so nothing XADDed before is missed). */
  async ensureGroup(): Promise<void> {
    try {
      await this.o.redis.xgroup('CREATE', this.o.stream, this.o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.blocking = this.o.redis.duplicate({
      connectionName: `${this.o.consumer}:blocking`,
      maxRetriesPerRequest: null,
    });
    this.blocking.on('error', () => {}); // reconnects are logged by the loop
    this.loopDone = this.loop();
  }

  /** Takes no more entries (a blocked read ends at once); the handlers running go on. */
  stopTaking(): void {
    if (!this.running) return;
    this.running = false;
    this.slotFreed?.();
    this.blocking?.disconnect(); // ends a blocked XREADGROUP at once
  }

  /** Stops reading, aborts handlers' signal 1 s before the deadline, waits for them (up to the deadline). */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (!this.loopDone) return;
    this.stopTaking();
    const handlers = Promise.allSettled([...this.inflight.values()]);
    const timer = setTimeout(() => this.abort.abort(), Math.max(0, deadlineMs - 1000));
    await Promise.race([Promise.allSettled([handlers, this.loopDone]), sleep(deadlineMs)]);
    clearTimeout(timer);
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let pendingDone = false;
    let nextClaim = 0;
    while (this.running) {
      try {
        if (!pendingDone) {
          await this.ensureGroup();
          await this.readOwnPending();
          pendingDone = true;
        }
        if (this.o.now() >= nextClaim) {
          await this.claimIdle();
          nextClaim = this.o.now() + Math.max(100, Math.floor(this.o.claimIdleMs / 2));
        }
        await this.waitForSlot();
        if (!this.running) break;
        const free = this.o.concurrency - this.inflight.size;
        const reply = (await this.blocking!.xreadgroup(
          'GROUP',
          this.o.group,
          this.o.consumer,
          'COUNT',
          free,
          'BLOCK',
          Math.min(this.o.blockMs, Math.max(100, nextClaim - this.o.now())),
          'STREAMS',
          this.o.stream,
          '>',
        )) as [string, RawEntry[]][] | null;
        for (const [, entries] of reply ?? []) for (const e of entries) this.dispatch(e, 1);
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        const msg = (err as Error).message ?? '';
        if (msg.includes('NOGROUP')) pendingDone = false; // stream or group vanished (Redis restarted without data)
        this.stats.errors++;
        const delay = backoffDelay(failures++, { baseMs: 100, capMs: 5000 });
        if (failures <= 3 || failures % 20 === 0)
          this.o.logger.warn(
            { err: errorFields(err), retryInMs: delay, stream: this.o.stream },
            'stream read failed',
          );
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private async waitForSlot(): Promise<void> {
    while (this.running && this.inflight.size >= this.o.concurrency) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
  }

  /** Own pending entries (left by a previous run of this consumer), oldest first. */
  private async readOwnPending(): Promise<void> {
    let cursor = '0';
    for (;;) {
      const reply = (await this.o.redis.xreadgroup(
        'GROUP',
        this.o.group,
        this.o.consumer,
        'COUNT',
        100,
        'STREAMS',
        this.o.stream,
        cursor,
      )) as [string, RawEntry[]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      for (const e of entries) {
        const deliveries = await this.deliveryCount(e[0]);
        await this.waitForSlot();
        if (!this.running) return;
        this.dispatch(e, deliveries);
      }
      cursor = entries[entries.length - 1]![0];
    }
  }

  /** Entries idle longer than claimIdleMs in any consumer (a dead one, or our own retries). */
  private async claimIdle(): Promise<void> {
    this.stats.claimRounds++;
    let cursor = '0-0';
    do {
      const free = this.o.concurrency - this.inflight.size;
      if (free <= 0) return;
      const reply = (await this.o.redis.xautoclaim(
        this.o.stream,
        this.o.group,
        this.o.consumer,
        this.o.claimIdleMs,
        cursor,
        'COUNT',
        free,
      )) as [string, RawEntry[], string[]?];
      cursor = reply[0];
      const deleted = reply[2] ?? [];
      // Entries trimmed away while pending: nothing left to handle.
      if (deleted.length) await this.o.redis.xack(this.o.stream, this.o.group, ...deleted);
      for (const e of reply[1]) {
        if (this.inflight.has(e[0])) continue;
        this.stats.claimed++;
        this.dispatch(e, await this.deliveryCount(e[0]));
      }
    } while (cursor !== '0-0' && this.running);
  }

  private async deliveryCount(id: string): Promise<number> {
    const rows = (await this.o.redis.xpending(this.o.stream, this.o.group, id, id, 1)) as [
      string,
      string,
      number,
      number,
    ][];
    return rows[0]?.[3] ?? 1;
  }

  private dispatch(raw: RawEntry, deliveries: number): void {
    const [id, fields] = raw;
    if (this.inflight.has(id)) return;
    const p = this.process(id, fields, deliveries).finally(() => {
      this.inflight.delete(id);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
    this.inflight.set(id, p);
  }

  private async process(id: string, fields: string[] | null, deliveries: number): Promise<void> {
    const log = this.o.logger.child({ stream: this.o.stream, entryId: id });
    try {
      if (fields === null) {
        // Deleted from the stream while pending (trimmed): acknowledge and forget.
        await this.o.redis.xack(this.o.stream, this.o.group, id);
        return;
      }
      const jobId = fieldsToRecord(fields).jobId || undefined;
      const decoded = this.o.decode(fields);
      if (!decoded.ok) {
        await this.sendToDead(
          {
            id,
            fields,
            deliveries,
            reason: 'MALFORMED_ENTRY',
            detail: decoded.detail,
            ...(jobId ? { jobId } : {}),
          },
          log,
        );
        return;
      }
      if (deliveries > this.o.maxDeliveries) {
        await this.sendToDead(
          {
            id,
            fields,
            deliveries,
            reason: 'DEAD_LETTERED',
            detail: `delivered ${deliveries} times (limit ${this.o.maxDeliveries})`,
            ...(jobId ? { jobId } : {}),
          },
          log,
        );
        return;
      }
      const stopHeartbeat = this.heartbeat(id);
      let outcome: HandlerOutcome;
      try {
        outcome = await this.o.handle({ id, value: decoded.value, deliveries, fields }, this.abort.signal);
      } catch (err) {
        outcome = { kind: 'retry', reason: (err as Error)?.message ?? String(err) };
        log.error({ err: errorFields(err) }, 'handler failed; entry stays pending');
      } finally {
        stopHeartbeat();
      }
      this.stats.handled++;
      switch (outcome.kind) {
        case 'ack':
          await this.o.redis.xack(this.o.stream, this.o.group, id);
          this.stats.acked++;
          break;
        case 'acked':
          this.stats.acked++;
          break;
        case 'retry':
          this.stats.retried++;
          log.info({ reason: outcome.reason, deliveries }, 'entry left pending for retry');
          break;
        case 'dead-letter':
          await this.sendToDead(
            {
              id,
              fields,
              deliveries,
              reason: outcome.code,
              detail: outcome.detail,
              ...(jobId ? { jobId } : {}),
            },
            log,
          );
          break;
      }
    } catch (err) {
      // Redis failed while acknowledging or dead-lettering: the entry stays pending and comes back.
      this.stats.errors++;
      log.warn({ err: errorFields(err) }, 'could not settle entry; it stays pending');
    }
  }

  private async sendToDead(req: DeadLetterRequest, log: Logger): Promise<void> {
    if (this.o.deadLetter) await this.o.deadLetter(req);
    else await this.defaultDeadLetter(req);
    this.stats.deadLettered++;
    log.warn(
      { reason: req.reason, detail: req.detail, deliveries: req.deliveries, jobId: req.jobId },
      'entry dead-lettered',
    );
  }

  private async defaultDeadLetter(req: DeadLetterRequest): Promise<void> {
    const res = await this.o.redis
      .multi()
      .xadd(this.o.deadStream, 'MAXLEN', '~', this.o.deadMaxLen, '*', ...deadEntryFields(this.o, req))
      .xack(this.o.stream, this.o.group, req.id)
      .exec();
    const failed = res?.find(([e]) => e);
    if (!res || failed) throw failed?.[0] ?? new Error('dead-letter transaction aborted');
  }

  /** Keeps an entry's idle time low while it is handled, so no other consumer claims it. */
  private heartbeat(id: string): () => void {
    const every = Math.max(50, Math.floor(this.o.claimIdleMs / 3));
    const timer = setInterval(() => {
      this.o.redis
        .xclaim(this.o.stream, this.o.group, this.o.consumer, 0, id, 'JUSTID')
        .catch((err) => this.o.logger.debug({ err: errorFields(err), entryId: id }, 'heartbeat failed'));
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }
}
