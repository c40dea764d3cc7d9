// `edgefleet dead` lists the dead-lettered entries with their reasons; `edgefleet dead replay <id>`
// submits a dead-lettered job again. Terminal states are final, so a replay is a new job whose id is
// the original's plus `-r<N>`; the dead entry is removed once the new job is accepted.
import { DeadEntry, decodeEntry, JobsEntry, redisNames } from '@edgefleet/contracts';
import { Redis } from 'ioredis';
import { call, type Endpoints } from '../api.js';
import { CliError, EXIT } from '../errors.js';

export interface DeadRow {
  id: string;
  entry: DeadEntry;
}

export async function withRedis<T>(
  target: { url: string; password?: string },
  fn: (r: Redis) => Promise<T>,
): Promise<T> {
  const url = target.url;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(target.password ? { password: target.password } : {}),
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch {
    throw new CliError(
      `cannot reach Redis at ${url.replace(/\/\/[^@]*@/, '//')}: is the node running? (set EDGEFLEET_REDIS_URL)`,
      EXIT.unreachable,
    );
  }
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export async function listDead(redis: Redis, prefix: string, count = 100): Promise<DeadRow[]> {
  const rows = await redis.xrevrange(redisNames(prefix).deadStream, '+', '-', 'COUNT', count);
  const out: DeadRow[] = [];
  for (const [id, fields] of rows) {
    const d = decodeEntry(DeadEntry, fields);
    if (d.ok) out.push({ id, entry: d.value });
  }
  return out;
}

export async function replayDead(
  redis: Redis,
  prefix: string,
  ep: Endpoints,
  ref: string,
): Promise<{ newJobId: string }> {
  const rows = await listDead(redis, prefix, 10_000);
  const row = rows.find((r) => r.id === ref || r.entry.jobId === ref);
  if (!row) throw new CliError(`no dead-lettered entry ${ref}`, EXIT.notFound);
  const fields = Object.entries(row.entry.fields).flat();
  const job = decodeEntry(JobsEntry, fields);
  if (!job.ok) throw new CliError(`entry ${row.id} holds no replayable job (${job.detail})`, EXIT.rejected);
  const base = job.value.jobId.replace(/-r\d+$/, '');
  const n = Number(/-r(\d+)$/.exec(job.value.jobId)?.[1] ?? 0) + 1;
  const newJobId = `${base}-r${n}`.slice(0, 128);
  await call(ep.jobApi, 'v1/jobs', {
    method: 'POST',
    body: JSON.stringify({ ...job.value.message, jobId: newJobId }),
    ...(ep.token ? { token: ep.token } : {}),
  });
  await redis.xdel(redisNames(prefix).deadStream, row.id);
  return { newJobId };
}
