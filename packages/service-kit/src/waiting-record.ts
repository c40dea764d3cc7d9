// Shows on a job record that the job waits out an outage (`detail`, `waitingSince`), or that it no
// longer does. Written only while the record is still in the given state, so a record that moved on
// (canceled, finished, expired) is never touched or re-created.
import type { RedisNames } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';
import type { Waiting } from './wait-out-outage.js';

/** Record field: since when the job waits out an outage (ms since the epoch). */
export const WAITING_SINCE = 'waitingSince';

/** KEYS[1] record; ARGV[1] the state it must be in; ARGV[2..] field/value pairs, none = stop waiting. */
const SCRIPT = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
if #ARGV > 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
else
  redis.call('HDEL', KEYS[1], 'waitingSince', 'detail')
end
return 1`;

/** `what`: the service waited for (`S3`, `the webhook`). Resolves true when the record was written. */
export async function recordWaiting(
  redis: Redis,
  names: RedisNames,
  jobId: string,
  state: string,
  what: string,
  w: Waiting | null,
): Promise<boolean> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const fields = w
    ? [
        'detail',
        `waiting for ${what} since ${iso(w.since)} (${w.failures} failed tries, next in ${Math.ceil(w.retryInMs / 1000)} s, gives up at ${iso(w.deadlineAt)} without progress): ${w.detail}`.slice(
          0,
          4096,
        ),
        WAITING_SINCE,
        String(w.since),
      ]
    : [];
  return (await redis.eval(SCRIPT, 1, names.jobKey(jobId), state, ...fields)) === 1;
}
