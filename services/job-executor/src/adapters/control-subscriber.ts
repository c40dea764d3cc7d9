// Control messages (cancel) on the `controlChannel`, on a connection of their own (a subscribed
// connection can do nothing else). Malformed messages are logged and ignored. The executor also
// checks the record's `cancelRequested` between phases, so a message missed during a reconnect is
// caught at the next phase boundary; ioredis re-subscribes after a reconnect.
import { ControlMessage } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface ControlSubscriber {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startControlSubscriber(o: {
  redis: Redis;
  channel: string;
  onCancel(jobId: string): void;
  logger: Logger;
}): ControlSubscriber {
  const sub = o.redis.duplicate({ connectionName: 'job-executor:control', maxRetriesPerRequest: null });
  sub.on('error', () => {});
  sub.on('message', (channel: string, raw: string) => {
    if (channel !== o.channel) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      o.logger.warn({ bytes: raw.length }, 'control message is not JSON; ignored');
      return;
    }
    const parsed = ControlMessage.safeParse(json);
    if (!parsed.success) {
      o.logger.warn('control message does not match the schema; ignored');
      return;
    }
    if (parsed.data.kind === 'cancel') o.onCancel(parsed.data.jobId);
  });
  const ready = sub.subscribe(o.channel).then(() => undefined);
  return {
    ready,
    async close() {
      sub.disconnect();
    },
  };
}
