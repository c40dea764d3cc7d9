// Delivers one notification to its channels (results queue and/or webhook), each retried with backoff
// until a deadline, and reports per channel. The report becomes the record's notifyStatus and
// notifyDetail; channels still owed are retried by the sweep (sweeper.ts).
import type { Notification } from '@edgefleet/contracts';
import { type BackoffPolicy, sleep } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import type { SqsNotifier } from './adapters/sqs-notifier.js';
import type { WebhookNotifier } from './adapters/webhook-notifier.js';
import type { Channel } from './core/notification.js';
import { retryBeforeDeadline } from './core/retry.js';
import type { UploaderMetrics } from './metrics.js';

export interface DeliveryTargets {
  sqs: boolean;
  webhook?: string | undefined;
}

export interface DeliveryReport {
  /** delivered: every channel took it; undelivered: one did not; none: no channel. */
  status: 'delivered' | 'undelivered' | 'none';
  /** One line per channel: `sqs: delivered; webhook: webhook answered HTTP 503 (7 attempts)`. */
  detail: string;
  /** Channels still owed the notification. */
  pending: Channel[];
}

export interface DispatcherOptions {
  sqs?: SqsNotifier | undefined;
  webhook?: WebhookNotifier | undefined;
  backoff: BackoffPolicy;
  logger: Logger;
  metrics?: Pick<UploaderMetrics, 'notificationLatency' | 'notificationFailures'>;
  now?: () => number;
  random?: () => number;
}

export class NotificationDispatcher {
  constructor(private readonly o: DispatcherOptions) {}

  get hasQueue(): boolean {
    return this.o.sqs !== undefined;
  }
  get canSign(): boolean {
    return this.o.webhook !== undefined;
  }

  /** Delivers `body` (the notification's JSON, sent byte for byte) to `targets` before `deadlineMs` ends. */
  async deliver(
    n: Pick<Notification, 'jobId' | 'state' | 'idempotencyKey'>,
    body: string,
    targets: DeliveryTargets,
    deadlineMs: number,
    signal: AbortSignal,
    log: Logger = this.o.logger,
  ): Promise<DeliveryReport> {
    const now = this.o.now ?? Date.now;
    const deadlineAt = now() + deadlineMs;
    const jobs: Promise<[Channel, boolean, string]>[] = [];
    const sqs = this.o.sqs;
    const webhook = this.o.webhook;
    const webhookUrl = targets.webhook;
    if (targets.sqs && sqs)
      jobs.push(this.retrying('sqs', deadlineAt, signal, log, (s) => sqs.attempt(body, n, s)));
    if (webhookUrl && webhook)
      jobs.push(
        this.retrying('webhook', deadlineAt, signal, log, (s) =>
          webhook.attempt(webhookUrl, body, n.idempotencyKey, s),
        ),
      );
    if (jobs.length === 0)
      return { status: 'none', detail: 'no notification channel configured', pending: [] };
    const results = await Promise.all(jobs);
    const pending = results.filter(([, ok]) => !ok).map(([c]) => c);
    return {
      status: pending.length ? 'undelivered' : 'delivered',
      detail: results.map(([c, , d]) => `${c}: ${d}`).join('; '),
      pending,
    };
  }

  private async retrying(
    channel: Channel,
    deadlineAt: number,
    signal: AbortSignal,
    log: Logger,
    once: (signal: AbortSignal) => Promise<{ verdict: string; detail: string }>,
  ): Promise<[Channel, boolean, string]> {
    const now = this.o.now ?? Date.now;
    const started = now();
    for (let attempt = 1; ; attempt++) {
      const r = await once(signal);
      const seconds = (now() - started) / 1000;
      if (r.verdict === 'delivered') {
        this.o.metrics?.notificationLatency.observe({ channel, outcome: 'delivered' }, seconds);
        return [channel, true, `delivered${attempt > 1 ? ` after ${attempt} attempts` : ''}`];
      }
      this.o.metrics?.notificationFailures.inc({ channel, kind: 'attempt' });
      const next = signal.aborted
        ? ({ retry: false } as const)
        : retryBeforeDeadline(
            attempt,
            r.verdict === 'retryable',
            now(),
            deadlineAt,
            this.o.backoff,
            this.o.random ?? Math.random,
          );
      log.warn(
        { channel, attempt, detail: r.detail, ...(next.retry ? { retryInMs: next.delayMs } : {}) },
        next.retry ? 'notification failed; retrying' : 'notification undelivered',
      );
      if (!next.retry) {
        this.o.metrics?.notificationLatency.observe({ channel, outcome: 'undelivered' }, seconds);
        this.o.metrics?.notificationFailures.inc({ channel, kind: 'undelivered' });
        return [channel, false, `${r.detail} (${attempt} attempt${attempt > 1 ? 's' : ''})`];
      }
      await sleep(next.delayMs, signal);
    }
  }
}
