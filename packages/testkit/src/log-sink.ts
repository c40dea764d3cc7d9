// Captures pino's JSON lines in memory so tests can assert on parsed log records.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export interface LogSink {
  logger: Logger;
  lines: Record<string, unknown>[];
  /** Raw text written, for "no secret leaked" assertions. */
  text(): string;
  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined;
}

export function logSink(level: pino.Level = 'debug', bindings: Record<string, unknown> = {}): LogSink {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const s = chunk.toString();
      raw += s;
      for (const line of s.split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  const logger = pino(
    { level, base: bindings, formatters: { level: (label) => ({ level: label }) } },
    stream,
  );
  return { logger, lines, text: () => raw, find: (p) => lines.find(p) };
}
