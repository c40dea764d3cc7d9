// Prometheus metrics of the receiver, registered on the HTTP app's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ReceiverMetrics {
  /** Bodies handled, by source (sqs|http) and outcome (queued, duplicate, rejected, canceled…). */
  intake: Counter<'source' | 'outcome'>;
  /** Bodies without a usable jobId (not notifiable), by reason code. */
  unusable: Counter<'code'>;
  /** Seconds from receipt to a durable hand-off. */
  handOffSeconds: Histogram<string>;
  /** Jobs waiting for the executor (counted up to maxBacklog + 1). */
  backlog: Gauge<string>;
  /** 1 while polling is paused by back-pressure or an unready Redis. */
  pollingPaused: Gauge<'queue'>;
  /** Transient errors, by where they happened (receive, handoff, delete, visibility). */
  errors: Counter<'op'>;
}

export function createReceiverMetrics(registry: Registry): ReceiverMetrics {
  const registers = [registry];
  return {
    intake: new Counter({
      name: 'edgefleet_receiver_intake_total',
      help: 'Bodies handled, by source and outcome',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    unusable: new Counter({
      name: 'edgefleet_receiver_unusable_total',
      help: 'Bodies without a usable jobId, left to the dead-letter policy',
      labelNames: ['code'],
      registers,
    }),
    handOffSeconds: new Histogram({
      name: 'edgefleet_receiver_handoff_seconds',
      help: 'Seconds from receipt to a durable hand-off',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    backlog: new Gauge({
      name: 'edgefleet_receiver_backlog',
      help: 'Jobs handed off and not yet taken by the executor',
      registers,
    }),
    pollingPaused: new Gauge({
      name: 'edgefleet_receiver_polling_paused',
      help: '1 while polling a queue is paused',
      labelNames: ['queue'],
      registers,
    }),
    errors: new Counter({
      name: 'edgefleet_receiver_errors_total',
      help: 'Transient errors, by operation',
      labelNames: ['op'],
      registers,
    }),
  };
}
