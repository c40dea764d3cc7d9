// pino loggers: JSON lines on stdout, one child per component, credentials redacted. Pretty output
// only when stdout is a TTY and pino-pretty is installed (it is an optional dependency).
import { createRequire } from 'node:module';
import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'secret',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'redisPassword',
  '*.redisPassword',
  'signingSecret',
  '*.signingSecret',
  'gossipKey',
  '*.gossipKey',
];

export interface LoggerSettings {
  /** The service name, bound as `service` on every line; absent for a process hosting several services,
   * whose children each bind their own (ServiceDeps.logger). */
  service?: string;
  level?: LoggerOptions['level'];
  /** Where lines go (tests pass a sink); default stdout. */
  destination?: NodeJS.WritableStream;
  pretty?: boolean;
}

function prettyTransport(): LoggerOptions['transport'] | undefined {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
    };
  } catch {
    return undefined;
  }
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: settings.service ? { service: settings.service } : {},
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  const transport = pretty ? prettyTransport() : undefined;
  return transport ? pino({ ...options, transport }) : pino(options);
}

/** Recovers a usable line from an unknown thrown value, for `{ err }` fields. */
export function errorFields(err: unknown): { message: string; code?: string; stack?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    };
  }
  return { message: String(err) };
}

export type { Logger as PinoLogger };
export const silentLogger = (): Logger => pino({ level: 'silent' });
