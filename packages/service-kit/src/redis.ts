// Redis clients. Whoever creates a client closes it. Blocking reads (XREADGROUP BLOCK, SUBSCRIBE) get
// their own connection: a blocked connection cannot serve anything else.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis } from 'ioredis';

export interface RedisSettings {
  url: string;
  /** Overrides the URL's password (so the password can live in its own secret). */
  password?: string;
  /** Connection name shown by CLIENT LIST: `<service>:<role>`. */
  name: string;
  logger?: Logger;
  /**
   * For blocking connections: queue commands without limit while reconnecting instead of failing
   * them after `maxRetriesPerRequest` attempts.
   */
  blocking?: boolean;
}

/** Reconnect delay in ms for the n-th attempt: 50 ms doubling to a 2 s ceiling. */
export const reconnectDelayMs = (attempt: number) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6));

export function createRedis(settings: RedisSettings): Redis {
  const options: RedisOptions = {
    connectionName: settings.name.replace(/[^A-Za-z0-9:_-]/g, '_'),
    retryStrategy: reconnectDelayMs,
    // Fail a command fast while Redis is down (the caller retries with its own policy) except on the
    // blocking connection, whose loop simply waits for the reconnect.
    maxRetriesPerRequest: settings.blocking ? null : 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  if (settings.password !== undefined) options.password = settings.password;
  const client = new Redis(settings.url, options);
  // Without a listener ioredis prints unhandled 'error' events; reconnects are routine, so log at warn
  // and at most once per outage.
  let down = false;
  client.on('error', (err) => {
    if (!down)
      settings.logger?.warn(
        { err: { message: err.message }, redis: settings.name },
        'redis connection error',
      );
    down = true;
  });
  client.on('ready', () => {
    if (down) settings.logger?.info({ redis: settings.name }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Closes a client: QUIT when connected (flushes pending replies), else disconnect. Never throws. */
export async function closeRedis(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready')
      await Promise.race([client.quit(), new Promise((r) => setTimeout(r, 1000).unref())]);
  } catch {
    // already closing
  }
  client.disconnect();
}

/** True when Redis answers PING within `timeoutMs`. */
export async function redisReachable(client: Redis, timeoutMs = 1000): Promise<boolean> {
  if (client.status !== 'ready') return false;
  try {
    const pong = await Promise.race([
      client.ping(),
      new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref()),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  }
}
