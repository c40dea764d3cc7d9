// A cancel of a running job arrives as one PUBLISH on the control channel (control-subscriber.ts); one
// sent while the subscriber reconnects is lost. The record's `cancelRequested` flag is the truth, so
// the flags of the jobs running here are re-read every `intervalMs` and whenever a Redis connection
// comes back: a cancel is then acted on within `intervalMs` of Redis being reachable, whatever
// happened to the message.
import type { RedisNames } from '@edgefleet/contracts';
import { errorFields } from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface CancelWatch {
  /** Reads the flags now; resolves with the number of jobs canceled. Never throws. */
  check(): Promise<number>;
  close(): void;
}

export function startCancelWatch(o: {
  redis: Redis;
  names: RedisNames;
  /** Ids of the jobs running here. */
  running: () => string[];
  cancel: (jobId: string) => boolean;
  intervalMs: number;
  logger: Logger;
}): CancelWatch {
  let checking: Promise<number> | undefined;
  const once = async (): Promise<number> => {
    const ids = o.running();
    if (ids.length === 0) return 0;
    const pipe = o.redis.pipeline();
    for (const id of ids) pipe.hget(o.names.jobKey(id), 'cancelRequested');
    const rows = (await pipe.exec()) ?? [];
    let n = 0;
    for (const [i, [err, v]] of rows.entries()) {
      const id = ids[i];
      if (!err && v === '1' && id && o.cancel(id)) {
        o.logger.info({ jobId: id }, 'cancel found on the record: stopping the job');
        n++;
      }
    }
    return n;
  };
  const check = () => {
    checking ??= once()
      .catch((err) => {
        o.logger.debug({ err: errorFields(err) }, 'cancel flags not readable (Redis down?)');
        return 0;
      })
      .finally(() => {
        checking = undefined;
      });
    return checking;
  };
  const onReady = () => void check();
  o.redis.on('ready', onReady);
  const timer = setInterval(() => void check(), o.intervalMs);
  timer.unref();
  return {
    check,
    close() {
      clearInterval(timer);
      o.redis.off('ready', onReady);
    },
  };
}
