// Reads job records (written only through service-kit's transitionJob) and the notification fields
// this service keeps beside them for the sweep.
import { decodeJobRecord, type JobRecord, type RedisNames } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';

export type RecordRead =
  | { kind: 'found'; record: JobRecord }
  | { kind: 'missing' }
  | { kind: 'corrupt'; error: string };

export async function readJobRecord(redis: Redis, names: RedisNames, jobId: string): Promise<RecordRead> {
  const [[e1, hash], [e2, history]] = (await redis
    .multi()
    .hgetall(names.jobKey(jobId))
    .lrange(names.historyKey(jobId), 0, -1)
    .exec()) as [[Error | null, Record<string, string>], [Error | null, string[]]];
  if (e1 || e2) throw e1 ?? e2;
  if (!hash || Object.keys(hash).length === 0) return { kind: 'missing' };
  const d = decodeJobRecord(hash, history ?? []);
  return d.ok ? { kind: 'found', record: d.record } : { kind: 'corrupt', error: d.error };
}

/**
 * Record fields (beside notifyStatus/notifyDetail) that let the sweep resend an undelivered
 * notification byte for byte: the body, the channels still owed, and the webhook chosen at the time.
 */
export const NOTIFY_FIELDS = {
  payload: 'notifyPayload',
  pending: 'notifyPending',
  webhook: 'notifyWebhook',
  /** When the notification was first recorded undelivered (epoch ms): the sweep's outage budget starts here. */
  since: 'notifySince',
} as const;

export interface OwedNotification {
  jobId: string;
  state: string;
  payload: string;
  pending: string[];
  webhook?: string;
  /** Epoch ms it was first recorded undelivered (absent on records written before the field existed). */
  since?: number;
}

/** Reads what the sweep needs for each job id (missing or delivered records are left out). */
export async function readOwed(
  redis: Redis,
  names: RedisNames,
  jobIds: string[],
): Promise<OwedNotification[]> {
  if (jobIds.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of jobIds)
    pipe.hmget(
      names.jobKey(id),
      'state',
      'notifyStatus',
      NOTIFY_FIELDS.payload,
      NOTIFY_FIELDS.pending,
      NOTIFY_FIELDS.webhook,
      NOTIFY_FIELDS.since,
    );
  const rows = (await pipe.exec()) ?? [];
  const out: OwedNotification[] = [];
  rows.forEach(([err, v], i) => {
    if (err) return;
    const [state, status, payload, pending, webhook, since] = v as (string | null)[];
    const jobId = jobIds[i];
    if (!jobId || status !== 'undelivered' || !state || !payload) return;
    out.push({
      jobId,
      state,
      payload,
      pending: (pending ?? '').split(',').filter(Boolean),
      ...(webhook ? { webhook } : {}),
      ...(since && Number.isFinite(Number(since)) ? { since: Number(since) } : {}),
    });
  });
  return out;
}
