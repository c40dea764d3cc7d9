// This service's Prometheus metrics, registered on the service-kit registry that /metrics serves.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface UploaderMetrics {
  uploadedBytes: Counter<'kind'>;
  uploadDuration: Histogram<'outcome'>;
  uploadRetries: Counter<string>;
  notificationLatency: Histogram<'channel' | 'outcome'>;
  notificationFailures: Counter<'channel' | 'kind'>;
  jobsFinished: Counter<'state'>;
}

export function createMetrics(registry: Registry): UploaderMetrics {
  const registers = [registry];
  return {
    uploadedBytes: new Counter({
      name: 'edgefleet_uploader_uploaded_bytes_total',
      help: 'Bytes uploaded to S3 (files and manifests), counted when an object is complete.',
      labelNames: ['kind'],
      registers,
    }),
    uploadDuration: new Histogram({
      name: 'edgefleet_uploader_upload_duration_seconds',
      help: "Time to upload one job's files and manifest, in seconds.",
      labelNames: ['outcome'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers,
    }),
    uploadRetries: new Counter({
      name: 'edgefleet_uploader_upload_retries_total',
      help: 'File uploads retried after a retryable failure (throttling, 5xx, network).',
      registers,
    }),
    notificationLatency: new Histogram({
      name: 'edgefleet_uploader_notification_latency_seconds',
      help: 'Time from the first attempt of a notification to its delivery or give-up, per channel.',
      labelNames: ['channel', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
    notificationFailures: new Counter({
      name: 'edgefleet_uploader_notification_failures_total',
      help: 'Failed notification attempts (kind=attempt) and notifications recorded undelivered (kind=undelivered).',
      labelNames: ['channel', 'kind'],
      registers,
    }),
    jobsFinished: new Counter({
      name: 'edgefleet_uploader_jobs_finished_total',
      help: 'Jobs whose terminal state the uploader recorded or notified, by state.',
      labelNames: ['state'],
      registers,
    }),
  };
}
