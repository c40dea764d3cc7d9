// Long-polls SQS queues and hands each message to the intake; deletes a message only after its effect
// is durable in Redis.
//
// One loop per queue URL. Before each ReceiveMessage the loop asks the gate (Redis reachable and
// durable) and the backlog: at the limit it does not poll, so messages stay in SQS for other devices.
// While a message is handled its visibility is extended every third of `visibilitySeconds` (the
// heartbeat); a hand-off that outlives the visibility anyway cannot run twice, because the second one
// finds the record. Transient errors are retried with backoff and full jitter; the loop never dies.
// A hand-off Redis refuses for lack of memory (OOM) is not retried: the message goes back to the queue
// at once (visibility 0, so another device may take it) and the loop pauses until the gate opens again.
//
// Shutdown (`close`): stop polling, abort the long poll (AbortSignal), let hand-offs already running
// finish (and delete their messages), and give every message received but not handed off back to the
// queue at once (visibility 0). A long poll aborted on our side may still be answered by the server
// with messages we never see: they stay invisible for `visibilitySeconds` at most, the visibility we
// ask for on receive (kept short and extended by the heartbeat for exactly this reason).
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { backoffDelay, errorFields, sleep } from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { pollBudget } from '../core/backlog.js';
import { isOomError } from '../core/redis-memory.js';
import { SIGNATURE_ATTRIBUTE } from '../core/signature.js';
import type { IncomingBody, IntakeOutcome } from '../job-intake.js';
import type { ReceiverMetrics } from '../metrics.js';

export interface SqsPollerSettings {
  sqs: SQSClient;
  queueUrls: readonly string[];
  /** Long-poll wait, in seconds (0–20). */
  waitSeconds: number;
  batchSize: number;
  visibilitySeconds: number;
  unusableVisibilitySeconds: number;
  maxBacklog: number;
  logger: Logger;
  metrics?: ReceiverMetrics;
  handle(input: IncomingBody): Promise<IntakeOutcome>;
  /** Jobs waiting for the executor, counted up to `cap`. Throws while Redis is down. */
  backlog(cap: number): Promise<number>;
  /** True when hand-offs may happen (Redis reachable, writes durable). */
  canHandOff(): Promise<boolean>;
  /** Heartbeat interval, in ms (default a third of visibilitySeconds, at least 1 s). */
  heartbeatMs?: number;
  /** How often a paused loop looks at the backlog again, in ms (default 500). */
  pauseCheckMs?: number;
  random?: () => number;
}

const RETRY = { baseMs: 200, capMs: 10_000 };

interface InFlight {
  queueUrl: string;
  receiptHandle: string;
}

export class SqsPoller {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly inflight = new Set<InFlight>();
  private readonly log: Logger;
  /** Set when Redis refused a hand-off for lack of memory; the loops pause once, then ask the gate. */
  private writesRefused = false;

  constructor(private readonly s: SqsPollerSettings) {
    this.log = s.logger.child({ component: 'sqs-poller' });
  }

  start(): void {
    this.loops = this.s.queueUrls.map((url) => this.loop(url));
  }

  /** Messages received and not finished yet. */
  get inFlight(): number {
    return this.inflight.size;
  }

  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** Stops polling, finishes hand-offs in progress, releases the rest. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async loop(queueUrl: string): Promise<void> {
    const log = this.log.child({ queue: queueUrl.split('/').pop() });
    const signal = this.abort.signal;
    let failures = 0;
    // Pauses in a row after OOM refusals: the backoff grows (to RETRY.capMs) until a batch goes through.
    let refusals = 0;
    let pausedFor: string | undefined;
    const pause = async (why: string, ms: number) => {
      if (pausedFor !== why) log.info({ why }, 'polling paused');
      pausedFor = why;
      this.s.metrics?.pollingPaused.set({ queue: queueUrl }, 1);
      await sleep(ms, signal);
    };
    while (!signal.aborted) {
      let budget: number;
      if (this.writesRefused) {
        this.writesRefused = false;
        await pause(
          'redis refuses writes (out of memory)',
          backoffDelay(refusals++, RETRY, this.s.random) + 100,
        );
        continue;
      }
      try {
        if (!(await this.s.canHandOff())) {
          await pause('redis not ready or not durable', backoffDelay(failures++, RETRY, this.s.random) + 100);
          continue;
        }
        const backlog = await this.s.backlog(this.s.maxBacklog + 1);
        this.s.metrics?.backlog.set(backlog);
        budget = pollBudget(backlog, this.s.maxBacklog, this.s.batchSize);
      } catch (err) {
        this.s.metrics?.errors.inc({ op: 'backlog' });
        await pause(`redis: ${(err as Error).message}`, backoffDelay(failures++, RETRY, this.s.random) + 100);
        continue;
      }
      if (budget === 0) {
        await pause('backlog at limit', this.s.pauseCheckMs ?? 500);
        continue;
      }
      if (pausedFor) log.info('polling resumed');
      pausedFor = undefined;
      this.s.metrics?.pollingPaused.set({ queue: queueUrl }, 0);
      let messages: Message[];
      try {
        const out = await this.s.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: budget,
            WaitTimeSeconds: this.s.waitSeconds,
            VisibilityTimeout: this.s.visibilitySeconds,
            MessageAttributeNames: [SIGNATURE_ATTRIBUTE],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        this.s.metrics?.errors.inc({ op: 'receive' });
        const delay = backoffDelay(failures++, RETRY, this.s.random);
        log.warn({ err: errorFields(err), retryInMs: delay }, 'ReceiveMessage failed');
        await sleep(delay, signal);
        continue;
      }
      await Promise.all(messages.map((m) => this.handleMessage(queueUrl, m, log)));
      if (messages.length > 0 && !this.writesRefused) refusals = 0;
    }
    this.s.metrics?.pollingPaused.set({ queue: queueUrl }, 1);
  }

  private async setVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<boolean> {
    try {
      await this.s.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
      return true;
    } catch (err) {
      this.s.metrics?.errors.inc({ op: 'visibility' });
      this.log.warn({ err: errorFields(err), seconds }, 'ChangeMessageVisibility failed');
      return false;
    }
  }

  private async handleMessage(queueUrl: string, m: Message, queueLog: Logger): Promise<void> {
    const receiptHandle = m.ReceiptHandle;
    if (!receiptHandle) return;
    const log = queueLog.child({ sqsMessageId: m.MessageId });
    const started = performance.now();
    const entry: InFlight = { queueUrl, receiptHandle };
    this.inflight.add(entry);
    const heartbeatMs = this.s.heartbeatMs ?? Math.max(1000, (this.s.visibilitySeconds * 1000) / 3);
    const heartbeat = setInterval(() => {
      void this.setVisibility(queueUrl, receiptHandle, this.s.visibilitySeconds);
    }, heartbeatMs);
    heartbeat.unref();
    try {
      let outcome: IntakeOutcome | undefined;
      for (let attempt = 0; !outcome; attempt++) {
        if (this.stopping) {
          // Received but not handed off: give it back to the queue now rather than after its visibility.
          clearInterval(heartbeat);
          await this.setVisibility(queueUrl, receiptHandle, 0);
          log.info('message released on shutdown');
          return;
        }
        try {
          outcome = await this.s.handle({
            body: m.Body ?? '',
            signature: m.MessageAttributes?.[SIGNATURE_ATTRIBUTE]?.StringValue,
            source: 'sqs',
            sqsMessageId: m.MessageId,
          });
        } catch (err) {
          this.s.metrics?.errors.inc({ op: 'handoff' });
          if (isOomError(err)) {
            // Retrying would keep the message invisible for as long as Redis stays full.
            this.writesRefused = true;
            clearInterval(heartbeat);
            await this.setVisibility(queueUrl, receiptHandle, 0);
            log.debug('message released: redis refuses writes');
            return;
          }
          const delay = backoffDelay(attempt, RETRY, this.s.random);
          log.warn({ err: errorFields(err), retryInMs: delay }, 'hand-off failed; retrying');
          await sleep(delay, this.abort.signal);
        }
      }
      clearInterval(heartbeat);
      if (outcome.kind === 'unusable') {
        // Not deleted: after maxReceiveCount receives the queue's redrive policy moves it to the DLQ.
        await this.setVisibility(queueUrl, receiptHandle, this.s.unusableVisibilitySeconds);
        return;
      }
      this.s.metrics?.handOffSeconds.observe((performance.now() - started) / 1000);
      await this.deleteMessage(queueUrl, receiptHandle, log);
    } finally {
      clearInterval(heartbeat);
      this.inflight.delete(entry);
    }
  }

  private async deleteMessage(queueUrl: string, receiptHandle: string, log: Logger): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.s.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
        return;
      } catch (err) {
        this.s.metrics?.errors.inc({ op: 'delete' });
        const delay = backoffDelay(attempt, RETRY, this.s.random);
        log.warn({ err: errorFields(err), retryInMs: delay }, 'DeleteMessage failed');
        // Not bound to the shutdown signal: a handed-off message should be deleted even while stopping.
        await sleep(delay);
      }
    }
    // It comes back after its visibility; the next receipt finds the record and deletes it.
    log.error('DeleteMessage kept failing: the message will be redelivered and deduplicated');
  }
}
