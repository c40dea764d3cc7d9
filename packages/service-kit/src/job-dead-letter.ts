// Dead-lettering an entry that carries a job: the job must not vanish silently. In one atomic step
// (the transition script) the record moves to FAILED with the entry's reason, a DeadEntry goes to the
// dead stream, a terminal `results` entry with nothing to upload goes to the uploader (so the server is
// notified), and the entry is acknowledged. When the record is already terminal or missing, only the
// dead entry and the acknowledgement are written.
import { encodeEntry, type RedisNames, type ResultsEntry } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';
import { type DeadLetterRequest, deadEntryFields } from './stream-consumer.js';
import { transitionJob } from './transition.js';

export interface JobDeadLetterSettings {
  redis: Redis;
  names: RedisNames;
  stream: string;
  group: string;
  /** Service name recorded in history. */
  by: string;
  node?: string;
  maxLen?: number;
  now?: () => number;
}

const NON_TERMINAL = ['QUEUED', 'DOWNLOADING', 'INSTALLING', 'RUNNING', 'UPLOADING'] as const;

export function jobDeadLetter(s: JobDeadLetterSettings): (req: DeadLetterRequest) => Promise<void> {
  const now = s.now ?? Date.now;
  const maxLen = s.maxLen ?? 100_000;
  return async (req) => {
    const dead = { stream: s.names.deadStream, fields: deadEntryFields({ ...s, now }, req), maxLen: 10_000 };
    const ackOp = { stream: s.stream, group: s.group, ids: [req.id] };
    if (req.jobId) {
      const result: ResultsEntry = {
        jobId: req.jobId,
        event: 'terminal',
        state: 'FAILED',
        reason: req.reason,
        detail: req.detail.slice(0, 4096),
        hasFiles: false,
        attempt: 0,
        timings: {},
        at: now(),
        ...(s.node ? { node: s.node } : {}),
      };
      const r = await transitionJob(s.redis, s.names, {
        jobId: req.jobId,
        to: 'FAILED',
        from: NON_TERMINAL,
        reason: req.reason,
        detail: req.detail,
        by: s.by,
        now: now(),
        xadd: [dead, { stream: s.names.resultsStream, fields: encodeEntry(result), maxLen }],
        xack: [ackOp],
      });
      if (r.ok) return;
    }
    const res = await s.redis
      .multi()
      .xadd(dead.stream, 'MAXLEN', '~', dead.maxLen, '*', ...dead.fields)
      .xack(ackOp.stream, ackOp.group, req.id)
      .exec();
    const failed = res?.find(([e]) => e);
    if (!res || failed) throw failed?.[0] ?? new Error('dead-letter transaction aborted');
  };
}
