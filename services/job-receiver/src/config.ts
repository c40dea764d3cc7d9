// Settings of the job-receiver service, from EDGEFLEET_* variables (see the README's configuration table).
// AWS settings (region, credentials, AWS_ENDPOINT_URL) come from the SDK's standard variables.
import { WebhookHostEntry } from '@edgefleet/contracts';
import { commonConfigShape, env, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';

export const SERVICE = 'job-receiver';
export const DEFAULT_PORT = 4100;

export const ConfigSchema = z
  .object({
    ...commonConfigShape,
    /** HTTP port (health, readiness, metrics and the job API). */
    port: env.port().default(DEFAULT_PORT),
    /** SQS queue URLs to long-poll, comma-separated: the device's own queue, then optionally the fleet's. */
    queueUrls: env
      .list()
      .pipe(z.array(z.string().url('expected a queue URL')).max(8))
      .default([]),
    /** Long-poll wait of one ReceiveMessage, in seconds (0–20). Also bounds a paused loop's latency. */
    sqsWaitSeconds: env.int(0, 20).default(20),
    /** Messages per ReceiveMessage (1–10). */
    sqsBatchSize: env.int(1, 10).default(10),
    /**
     * Visibility timeout given to a received message, in seconds; extended every third of it while the
     * message is handled (the heartbeat). Also the longest a message can stay invisible after a crash,
     * or after a long poll aborted on shutdown was answered with it anyway.
     */
    sqsVisibilitySeconds: env.int(3, 43_200).default(30),
    /**
     * Visibility given to a message without a usable jobId (which is not deleted: the queue's
     * dead-letter policy moves it after maxReceiveCount receives), in seconds.
     */
    unusableVisibilitySeconds: env.int(0, 43_200).default(300),
    /** Stop polling while this many jobs wait in the device's `jobs` stream (not yet taken by the executor). */
    maxBacklog: env.int(1, 100_000).default(20),
    /** S3 buckets a job may read from and write to (comma-separated). Empty: any bucket (a warning is logged). */
    allowedBuckets: env.list().default([]),
    /**
     * Hosts a job's notify.webhook may name (`host`, `*.domain`, `host:port`; comma-separated); a job
     * naming another host is REJECTED with WEBHOOK_NOT_ALLOWED. Empty: jobs may not name a webhook.
     * The uploader reads the same variable and never calls any other host.
     */
    webhookAllowedHosts: env.list().pipe(z.array(WebhookHostEntry)).default([]),
    /**
     * Whether this device has a CUDA GPU, for jobs with `limits.gpu` (rejected with GPU_UNAVAILABLE on
     * a device without one). Unset: detected at start (GPU device nodes, the L4T release file, the
     * NVIDIA driver).
     */
    gpu: env.bool().optional(),
    /** Folder holding the device nodes, searched for GPU nodes when EDGEFLEET_GPU is unset. */
    deviceRoot: z.string().min(1).default('/dev'),
    /** Reject job and cancel messages that are not signed with signingSecret. */
    requireSignature: env.bool().default(false),
    /** Fleet secret for HMAC-SHA256 signatures of message bodies (at least 32 characters). */
    signingSecret: z.string().min(32, 'at least 32 characters').optional(),
    /** Retention of the job index, in seconds: older members whose record expired are removed. */
    retentionSeconds: env.int(60, 365 * 24 * 3600).default(7 * 24 * 3600),
    /** How often the job index is trimmed, in ms. */
    retentionSweepMs: env.int(1000, 24 * 3600 * 1000).default(3600 * 1000),
    /** Approximate cap of the `jobs` stream (XADD MAXLEN ~); far above maxBacklog. */
    jobsStreamMaxLen: env.int(1000, 10_000_000).default(100_000),
    /**
     * Memory budget of each of the `jobs` and `results` streams, in MiB: entries every consumer group
     * has processed are trimmed, oldest first, while the stream's MEMORY USAGE is above it (entries not
     * yet processed are never trimmed for memory). 8 MiB ≈ 15,000 jobs entries of a 300-byte message.
     */
    streamMaxMiB: env.int(1, 4096).default(8),
    /** How often the streams are held to streamMaxMiB, in ms. */
    streamTrimMs: env.int(1000, 24 * 3600 * 1000).default(60_000),
    /** Refuse to hand off (not ready, no polling) unless Redis persists every write before replying. */
    requireDurability: env.bool().default(true),
    /**
     * Take no job while the data disk (free bytes reported by the executor) has less free than this
     * (0: never block). Above the executor's EDGEFLEET_MIN_FREE_DISK_BYTES, so jobs here can finish.
     */
    intakeMinFreeDiskBytes: env.number(0).default(2 * 1024 * 1024 * 1024),
  })
  .refine((c) => !c.requireSignature || c.signingSecret !== undefined, {
    path: ['signingSecret'],
    message: 'required when EDGEFLEET_REQUIRE_SIGNATURE is true',
  });
export type Config = z.infer<typeof ConfigSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): Config =>
  loadEnvConfig(ConfigSchema, source);
