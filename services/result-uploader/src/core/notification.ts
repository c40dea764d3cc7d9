// What to tell the server, and where. Pure: the notification body is built from the results entry and
// what the upload produced; the plan decides the channels from the job message and the device's
// settings. A job's webhook must be allowlisted (no SSRF from a job message): when it is not, the
// server still hears through the results queue, and the record says why the webhook was skipped.
import {
  type JobMessage,
  type JobState,
  NOTIFICATION_VERSION,
  type Notification,
  notificationKey,
  type PhaseTimings,
  type ReasonCode,
  type ResultsEntry,
  webhookHostAllowed,
} from '@edgefleet/contracts';

export interface NotifySettings {
  /** Device default webhook (trusted). */
  webhookUrl?: string | undefined;
  webhookAllowedHosts: readonly string[];
  webhookAllowHttp: boolean;
  /** False when no signing secret is configured: no webhook can be sent. */
  canSign: boolean;
  /** True when a results queue is configured. */
  hasQueue: boolean;
  notifyOnRunning: boolean;
}

export type Channel = 'sqs' | 'webhook';

export interface NotificationPlan {
  /** False for a RUNNING notification nobody asked for. */
  wanted: boolean;
  sqs: boolean;
  webhook?: string;
  /** Why a webhook was not used (recorded in notifyDetail). */
  notes: string[];
}

export function planNotification(
  event: ResultsEntry['event'],
  message: JobMessage | undefined,
  s: NotifySettings,
): NotificationPlan {
  const wanted = event === 'terminal' || (message?.notify.onRunning ?? s.notifyOnRunning);
  const notes: string[] = [];
  let webhook: string | undefined;
  const jobHook = message?.notify.webhook;
  if (jobHook) {
    let url: URL | undefined;
    try {
      url = new URL(jobHook);
    } catch {
      notes.push('job webhook is not a URL');
    }
    if (url) {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && s.webhookAllowHttp))
        notes.push(`job webhook ${url.host}: only https is allowed`);
      else if (!webhookHostAllowed(url, s.webhookAllowedHosts))
        notes.push(`job webhook host ${url.host} is not in EDGEFLEET_WEBHOOK_ALLOWED_HOSTS`);
      else webhook = url.toString();
    }
  } else if (s.webhookUrl) webhook = s.webhookUrl;
  if (webhook && !s.canSign) {
    notes.push('no EDGEFLEET_WEBHOOK_SECRET: webhook not sent');
    webhook = undefined;
  }
  if (!webhook && notes.length && s.hasQueue) notes.push('notified via the results queue only');
  return { wanted, sqs: s.hasQueue, ...(webhook ? { webhook } : {}), notes };
}

export interface NotificationFacts {
  state: JobState;
  reason?: ReasonCode | undefined;
  detail?: string | undefined;
  node: string;
  resultUri?: string | undefined;
  manifestUri?: string | undefined;
  uploadMs?: number | undefined;
  labels?: Record<string, string> | undefined;
}

/** The notification body for an entry; `facts` says what was finally recorded (state may differ). */
export function buildNotification(entry: ResultsEntry, f: NotificationFacts): Notification {
  const timings: PhaseTimings & { uploadMs?: number } = { ...entry.timings };
  if (f.uploadMs !== undefined) timings.uploadMs = f.uploadMs;
  return {
    version: NOTIFICATION_VERSION,
    kind: 'job-status',
    event: entry.event,
    jobId: entry.jobId,
    state: f.state,
    ...(f.reason ? { reason: f.reason } : {}),
    ...(f.detail ? { detail: f.detail.slice(0, 4096) } : {}),
    ...(entry.exitCode !== undefined ? { exitCode: entry.exitCode } : {}),
    ...(entry.signal ? { signal: entry.signal } : {}),
    node: f.node,
    attempt: entry.attempt,
    timings,
    ...(f.resultUri ? { resultUri: f.resultUri } : {}),
    ...(f.manifestUri ? { manifestUri: f.manifestUri } : {}),
    ...(f.labels ? { labels: f.labels } : {}),
    idempotencyKey: notificationKey(entry.jobId, f.state),
    at: entry.at,
  };
}
