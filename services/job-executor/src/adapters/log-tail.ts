// The live tail of a job's output in Redis (schema and rules: contracts' log-tail.ts). Output is
// decoded with a StringDecoder per stream (no character cut in two), buffered, and flushed every
// `flushMs` or when 4 KiB are waiting, as capped XADDs in one pipeline. Losing the tail never hurts
// the job: errors are logged once and the full logs stay in the job folder.
import { StringDecoder } from 'node:string_decoder';
import {
  LOG_TAIL_FINISHED_MAXLEN,
  LOG_TAIL_MAXLEN,
  LOG_TAIL_TTL_SECONDS,
  logChunkFields,
  splitLogText,
} from '@edgefleet/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface LogTail {
  write(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /** Flushes what is buffered, trims the tail to the finished size and gives the key its retention. */
  close(): Promise<void>;
}

export function createLogTail(o: {
  redis: Redis;
  key: string;
  maxLen?: number;
  flushMs?: number;
  logger: Logger;
}): LogTail {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const pending: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let warned = false;
  const maxLen = o.maxLen ?? LOG_TAIL_MAXLEN;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!pending.length) return chain;
    const batch = pending.splice(0);
    pendingBytes = 0;
    chain = chain.then(async () => {
      const p = o.redis.pipeline();
      for (const part of batch)
        for (const c of splitLogText(part.stream, part.text))
          p.xadd(o.key, 'MAXLEN', '~', maxLen, '*', ...logChunkFields(c));
      try {
        await p.exec();
      } catch (e) {
        if (!warned) o.logger.warn({ err: { message: (e as Error).message } }, 'log tail write failed');
        warned = true;
      }
    });
    return chain;
  };

  return {
    write(stream, chunk) {
      const text = decoders[stream].write(chunk);
      if (!text) return;
      const last = pending[pending.length - 1];
      if (last && last.stream === stream) last.text += text;
      else pending.push({ stream, text });
      pendingBytes += text.length;
      if (pendingBytes >= 4096) void flush();
      else if (!timer) {
        timer = setTimeout(() => void flush(), o.flushMs ?? 200);
        timer.unref();
      }
    },
    async close() {
      for (const s of ['stdout', 'stderr'] as const) {
        const rest = decoders[s].end();
        if (rest) pending.push({ stream: s, text: rest });
      }
      await flush();
      // A finished job keeps only the end of its output here (the whole logs are uploaded with the result).
      await o.redis
        .multi()
        .xtrim(o.key, 'MAXLEN', LOG_TAIL_FINISHED_MAXLEN)
        .expire(o.key, LOG_TAIL_TTL_SECONDS)
        .exec()
        .catch(() => undefined);
    },
  };
}
