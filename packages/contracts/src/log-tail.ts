// The live tail of a job's output, kept in Redis for the job API (`GET /v1/jobs/:id/logs`).
//
// Writer: the executor. Reader: the receiver's job API (and anything else that wants to follow a job).
// Key: `redisNames(prefix).logTailKey(jobId)`, a Redis STREAM. One entry per chunk of output, with two
// fields, `stream` (stdout | stderr) and `data` (UTF-8 text), written with
//   XADD <key> MAXLEN ~ LOG_TAIL_MAXLEN * stream <stdout|stderr> data <text>
// so the tail is capped (roughly the last LOG_TAIL_MAXLEN chunks; the full logs are in the job folder and
// uploaded with the result). Rules for the writer:
// - split output into chunks of at most LOG_CHUNK_MAX_BYTES bytes of UTF-8 (decode with a StringDecoder
//   so a multi-byte character is never cut in two); chunk boundaries need not follow lines;
// - when the job ends, trim the tail to its last LOG_TAIL_FINISHED_MAXLEN chunks (XTRIM <key> MAXLEN =,
//   exact so it trims even inside one stream node) and give the key the record's retention (EXPIRE <key>
//   LOG_TAIL_TTL_SECONDS), so a tail never outlives its job record and a finished job holds at most
//   LOG_TAIL_FINISHED_MAXLEN × LOG_CHUNK_MAX_BYTES = 64 KiB of Redis memory in log text;
// - entry ids are Redis's own (`*`): readers resume with XREAD/XRANGE after the last id they saw.
// A reader stops following when the job record is terminal (then reads what is left).
import { z } from 'zod';

/** Output streams of a job's process. */
export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export const LogStreamName = z.enum(LOG_STREAMS);
export type LogStreamName = z.infer<typeof LogStreamName>;

/** Largest `data` of one chunk, in bytes of UTF-8. */
export const LOG_CHUNK_MAX_BYTES = 4096;
/** Approximate cap of the tail stream, in chunks (XADD MAXLEN ~). 1000 × 4 KiB ≈ 4 MiB at most. */
export const LOG_TAIL_MAXLEN = 1000;
/** Chunks a finished job's tail keeps: 16 × 4 KiB = the last 64 KiB of output at most. */
export const LOG_TAIL_FINISHED_MAXLEN = 16;
/** Retention of a finished job's tail, in seconds (the record's: 7 days). */
export const LOG_TAIL_TTL_SECONDS = 7 * 24 * 3600;

export const LogChunk = z.object({
  stream: LogStreamName,
  data: z.string().refine((d) => Buffer.byteLength(d, 'utf8') <= LOG_CHUNK_MAX_BYTES, {
    message: `at most ${LOG_CHUNK_MAX_BYTES} bytes of UTF-8`,
  }),
});
export type LogChunk = z.infer<typeof LogChunk>;

/** Stream fields for a chunk: `['stream', 'stdout', 'data', text]`. */
export function logChunkFields(chunk: LogChunk): string[] {
  return ['stream', chunk.stream, 'data', chunk.data];
}

/** A tail entry's fields (flat list, as ioredis returns them) → a chunk, or null when malformed. */
export function decodeLogChunk(fields: readonly string[]): LogChunk | null {
  const rec: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) rec[fields[i] as string] = fields[i + 1] as string;
  const parsed = LogChunk.safeParse(rec);
  return parsed.success ? parsed.data : null;
}

/** Splits text into chunks of at most LOG_CHUNK_MAX_BYTES bytes without cutting a character. */
export function splitLogText(stream: LogStreamName, text: string): LogChunk[] {
  const out: LogChunk[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > LOG_CHUNK_MAX_BYTES) {
      out.push({ stream, data: current });
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += b;
  }
  if (current) out.push({ stream, data: current });
  return out;
}
