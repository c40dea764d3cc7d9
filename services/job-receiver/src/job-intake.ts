// The one path from a raw body to the device's stream, shared by the SQS poller and the HTTP API:
// decide (pure core), then apply the decision through the job store, and report the outcome as a value.
import type { JobState, ReasonCode } from '@edgefleet/contracts';
import type { Logger } from 'pino';
import type { JobSource, JobStore } from './adapters/job-store.js';
import { decideIntake, type IntakePolicy } from './core/intake.js';
import type { ReceiverMetrics } from './metrics.js';

export type IntakeOutcome =
  | { kind: 'queued'; jobId: string }
  | { kind: 'duplicate'; jobId: string; state: JobState | null }
  | { kind: 'rejected'; jobId: string; code: ReasonCode; detail: string }
  | { kind: 'canceled'; jobId: string; before: boolean }
  | { kind: 'cancel-requested'; jobId: string; state: JobState }
  | { kind: 'already-terminal'; jobId: string; state: JobState }
  | { kind: 'unusable'; code: ReasonCode; detail: string; bodyHash: string; claimedJobId?: string };

export interface IntakeSettings {
  store: JobStore;
  policy: IntakePolicy;
  logger: Logger;
  metrics?: ReceiverMetrics;
}

export interface IncomingBody {
  body: string;
  signature?: string | undefined;
  source: JobSource;
  sqsMessageId?: string | undefined;
}

export class JobIntake {
  private readonly log: Logger;
  constructor(private readonly s: IntakeSettings) {
    this.log = s.logger.child({ component: 'intake' });
  }

  /** Decides and applies. Throws only on Redis errors (the caller retries); outcomes are values. */
  async handle(input: IncomingBody): Promise<IntakeOutcome> {
    const outcome = await this.apply(input);
    this.s.metrics?.intake.inc({ source: input.source, outcome: outcome.kind });
    return outcome;
  }

  /** Cancels a job by id (HTTP). Same effect as a cancel message. */
  async cancel(jobId: string, reason: string | undefined, source: JobSource): Promise<IntakeOutcome> {
    const r = await this.s.store.cancel(jobId, reason, source);
    const log = this.log.child({ jobId });
    const outcome: IntakeOutcome =
      r.kind === 'canceled'
        ? { kind: 'canceled', jobId, before: r.from === null }
        : r.kind === 'cancel-requested'
          ? { kind: 'cancel-requested', jobId, state: r.state }
          : { kind: 'already-terminal', jobId, state: r.state };
    log.info({ outcome: outcome.kind, source }, 'cancel handled');
    this.s.metrics?.intake.inc({ source, outcome: outcome.kind });
    return outcome;
  }

  private async apply(input: IncomingBody): Promise<IntakeOutcome> {
    const d = decideIntake(input.body, input.signature, this.s.policy);
    switch (d.kind) {
      case 'job': {
        const log = this.log.child({ jobId: d.message.jobId });
        const r = await this.s.store.handOff(d.message, input.source, input.sqsMessageId);
        if (r.kind === 'queued') {
          log.info({ source: input.source, sqsMessageId: input.sqsMessageId }, 'job queued');
          return { kind: 'queued', jobId: d.message.jobId };
        }
        log.info({ state: r.state, source: input.source }, 'duplicate job message: record exists');
        return { kind: 'duplicate', jobId: d.message.jobId, state: r.state };
      }
      case 'cancel': {
        const { jobId, reason } = d.message;
        const r = await this.s.store.cancel(jobId, reason, input.source);
        this.log.child({ jobId }).info({ result: r.kind, source: input.source }, 'cancel message handled');
        if (r.kind === 'canceled') return { kind: 'canceled', jobId, before: r.from === null };
        if (r.kind === 'cancel-requested') return { kind: 'cancel-requested', jobId, state: r.state };
        return { kind: 'already-terminal', jobId, state: r.state };
      }
      case 'reject': {
        const log = this.log.child({ jobId: d.jobId });
        const r = await this.s.store.reject(d.jobId, d.code, d.detail, input.source);
        if (r.kind === 'duplicate') {
          log.warn(
            { code: d.code, state: r.state },
            'rejected message for an existing job: left the record alone',
          );
          return { kind: 'duplicate', jobId: d.jobId, state: r.state };
        }
        log.warn({ code: d.code, detail: d.detail, source: input.source }, 'job rejected');
        return { kind: 'rejected', jobId: d.jobId, code: d.code, detail: d.detail };
      }
      case 'unusable':
        this.s.metrics?.unusable.inc({ code: d.code });
        this.log.warn(
          {
            code: d.code,
            detail: d.detail.slice(0, 300),
            bodyHash: d.bodyHash,
            bytes: d.bytes,
            source: input.source,
            ...(d.claimedJobId ? { claimedJobId: d.claimedJobId } : {}),
          },
          'message without a usable jobId: left to the dead-letter policy',
        );
        return {
          kind: 'unusable',
          code: d.code,
          detail: d.detail,
          bodyHash: d.bodyHash,
          ...(d.claimedJobId ? { claimedJobId: d.claimedJobId } : {}),
        };
    }
  }
}
