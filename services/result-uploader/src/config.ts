// Settings of the result-uploader service, from EDGEFLEET_* variables (see the README's configuration table).
// AWS settings (region, credentials, endpoint) come from the SDK's standard variables (AWS_REGION,
// AWS_ENDPOINT_URL…), never from here.
import { WebhookHostEntry } from '@edgefleet/contracts';
import { commonConfigShape, env, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';
import { isAddressEntry } from './core/address-policy.js';

export const SERVICE = 'result-uploader';
export const DEFAULT_PORT = 4102;

const MiB = 1024 * 1024;

const httpUrl = z
  .string()
  .trim()
  .refine((u) => {
    try {
      const p = new URL(u).protocol;
      return p === 'http:' || p === 'https:';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL');

export const ConfigSchema = z
  .object({
    ...commonConfigShape,
    /** HTTP port (health, readiness, metrics). */
    port: env.port().default(DEFAULT_PORT),
    /** The device's data folder; a results entry's jobDir must be `<dataDir>/jobs/<jobId>`. */
    dataDir: z.string().min(1).default('/var/lib/edgefleet'),
    /** Buckets outputs may be written to (comma-separated). Empty: every output is refused. */
    outputBuckets: env.list().default([]),
    /** Path-style S3 addressing (emulators such as fauxqs, MinIO). */
    s3ForcePathStyle: env.bool().default(false),
    /** Small files (below the part size) uploaded at once per job; multipart files go one at a time. */
    uploadConcurrency: env.int(1, 64).default(4),
    /** Files at least this large go multipart, in MiB; also the part size (S3 minimum: 5). */
    uploadPartSizeMib: env.int(5, 5120).default(8),
    /** Parts of one multipart file in flight at once (memory ≈ concurrency × parts × part size). */
    uploadPartConcurrency: env.int(1, 16).default(2),
    /** Attempts per S3 request (throttling, 5xx, network errors): the SDK's standard retry strategy. */
    uploadMaxAttempts: env.int(1, 20).default(4),
    /**
     * Seconds a job's upload may go without progress (a file uploaded) while S3 fails transiently
     * before the job ends UPLOAD_FAILED; the folder stays on disk meanwhile (default 24 h).
     */
    uploadOutageSeconds: env.int(1, 30 * 86_400).default(86_400),
    /** Keep the folder of a job whose outputs were not uploaded this long, in seconds, then sweep it. */
    keepFailedSeconds: env.int(0, 30 * 86_400).default(86_400),
    /** First backoff ceiling between attempts, in ms (doubling, full jitter, capped at 30 s). */
    retryBaseMs: env.int(1, 60_000).default(500),
    /** The results SQS queue URL for notifications (optional). */
    resultsQueueUrl: httpUrl.optional(),
    /** Default webhook for jobs that name none (trusted: not checked against the allowlist). */
    webhookUrl: httpUrl.optional(),
    /**
     * Hosts a job's notify.webhook may name (`host`, `*.domain`, `host:port`; comma-separated). The
     * receiver reads the same variable and rejects jobs naming other hosts (contracts' webhook-host).
     */
    webhookAllowedHosts: env.list().pipe(z.array(WebhookHostEntry)).default([]),
    /**
     * Non-public addresses (IP or CIDR, comma-separated) a webhook may connect to. A webhook host is
     * resolved and every loopback, link-local, private, unique-local, unspecified, multicast or
     * reserved address (IPv4-mapped forms included) is refused unless listed here; an IP literal
     * written in EDGEFLEET_WEBHOOK_ALLOWED_HOSTS or EDGEFLEET_WEBHOOK_URL counts as listed.
     */
    webhookAllowedAddresses: env
      .list()
      .pipe(z.array(z.string().refine(isAddressEntry, 'an IP address or CIDR range')))
      .default([]),
    /** Accept plain http:// webhooks (off: https only; on for local development). */
    webhookAllowHttp: env.bool().default(false),
    /** HMAC secret that signs webhook bodies (required when webhooks are possible). */
    webhookSecret: z.string().min(16, 'at least 16 characters').optional(),
    /** One webhook request's timeout, in ms. */
    webhookTimeoutMs: env.int(100, 120_000).default(10_000),
    /**
     * How long one delivery of a notification is retried inline before it is recorded as undelivered
     * (the sweep then resends it), in ms.
     */
    notifyDeadlineMs: env.int(0, 3_600_000).default(60_000),
    /**
     * Seconds an undelivered notification keeps being resent by the sweep, counted from when it was
     * first recorded undelivered; after it, it stays `undelivered` and is no longer sent (default 24 h).
     */
    notifyOutageSeconds: env.int(1, 30 * 86_400).default(86_400),
    /** Notify RUNNING for jobs whose message does not say (notify.onRunning). */
    notifyOnRunning: env.bool().default(false),
    /** Interval of the sweep that retries undelivered notifications and expired job folders, in ms. */
    sweepIntervalMs: env.int(100, 86_400_000).default(60_000),
    /** Keep a job folder this long after a successful upload, in seconds (0: delete at once). */
    keepJobDirSeconds: env.int(0, 30 * 86_400).default(0),
    /** A pending results entry idle this long is claimed from its (dead) consumer, in ms. */
    claimIdleMs: env.int(100, 3_600_000).default(30_000),
    /** Deliveries of one results entry before it is dead-lettered; the last one records UPLOAD_FAILED. */
    maxDeliveries: env.int(1, 100).default(5),
    /** Results entries handled at once. */
    jobConcurrency: env.int(1, 16).default(1),
  })
  .superRefine((c, ctx) => {
    const webhooksPossible = c.webhookUrl !== undefined || c.webhookAllowedHosts.length > 0;
    if (webhooksPossible && !c.webhookSecret)
      ctx.addIssue({
        code: 'custom',
        path: ['webhookSecret'],
        message: 'required when EDGEFLEET_WEBHOOK_URL or EDGEFLEET_WEBHOOK_ALLOWED_HOSTS is set',
      });
    if (c.webhookUrl?.startsWith('http:') && !c.webhookAllowHttp)
      ctx.addIssue({
        code: 'custom',
        path: ['webhookUrl'],
        message: 'http:// needs EDGEFLEET_WEBHOOK_ALLOW_HTTP=true (https expected)',
      });
  });
export type Config = z.infer<typeof ConfigSchema>;

/** Addresses the operator named explicitly: the address list, plus IP literals among the hosts. */
export function explicitWebhookAddresses(
  c: Pick<Config, 'webhookAllowedAddresses' | 'webhookAllowedHosts' | 'webhookUrl'>,
): string[] {
  const literals = c.webhookAllowedHosts
    .map((h) => h.replace(/:\d+$/, ''))
    .concat(c.webhookUrl ? [new URL(c.webhookUrl).hostname.replace(/^\[|\]$/g, '')] : [])
    .filter((h) => isAddressEntry(h));
  return [...c.webhookAllowedAddresses, ...literals];
}

export const partSizeBytes = (c: Pick<Config, 'uploadPartSizeMib'>) => c.uploadPartSizeMib * MiB;

export const loadConfig = (source: Record<string, string | undefined> = process.env): Config =>
  loadEnvConfig(ConfigSchema, source);
