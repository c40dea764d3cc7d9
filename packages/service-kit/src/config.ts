// Configuration from the environment: one zod object schema per service, whose camelCase keys map to
// `EDGEFLEET_` + SCREAMING_SNAKE env names (`redisUrl` → `EDGEFLEET_REDIS_URL`). The schema is the only
// place a setting is declared; `loadEnvConfig` reads, coerces, applies defaults and, on failure, throws
// one ConfigError that names every bad variable. Never call it at import time: main.ts calls it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const ENV_PREFIX = 'EDGEFLEET_';

/**
 * `redisUrl` → `EDGEFLEET_REDIS_URL`; `maxInflight2` → `EDGEFLEET_MAX_INFLIGHT2`; a unit `KiB`/`MiB`/`GiB`
 * is one word: `defaultOutputMiB` → `EDGEFLEET_DEFAULT_OUTPUT_MIB`.
 */
export function envName(key: string, prefix = ENV_PREFIX): string {
  return (
    prefix +
    key
      .replace(/([KMG])iB(?=$|[A-Z0-9])/g, '$1ib')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()
  );
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: { variable: string; message: string; value?: string }[]) {
    super(
      `invalid configuration: ${problems
        .map(
          (p) =>
            `${p.variable}: ${p.message}${p.value !== undefined ? ` (got ${JSON.stringify(p.value.slice(0, 80))})` : ''}`,
        )
        .join('; ')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Env helpers: values arrive as strings. */
export const env = {
  /** 'true'/'1'/'yes'/'on' or 'false'/'0'/'no'/'off' (case-insensitive). */
  bool: () =>
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(
        z.enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'], { message: 'expected true or false' }),
      )
      .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
  int: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .trim()
      .regex(/^-?\d+$/, 'expected an integer')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
  number: (min = -Infinity, max = Infinity) =>
    z
      .string()
      .trim()
      .refine((v) => v !== '' && Number.isFinite(Number(v)), 'expected a number')
      .transform(Number)
      .pipe(z.number().min(min).max(max)),
  /** Comma-separated list; blanks dropped. */
  list: () =>
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  port: () => env.int(0, 65535),
  url: () => z.string().trim().url('expected a URL'),
};

type Shape = Record<string, z.ZodType>;

/** Variables that hold secrets: never echoed in errors, may come from a file, never a placeholder. */
export const isSecretVariable = (name: string): boolean => /SECRET|TOKEN|PASSWORD|KEY/.test(name);

/**
 * The placeholder values shipped examples use (docker/.env.example: `change-me-to-openssl-rand-hex-32`):
 * a device started with one would run with a secret every reader of the repository knows.
 */
export const isPlaceholderSecret = (value: string): boolean => /change[-_ ]?me|replace[-_ ]?me/i.test(value);

/**
 * Reads `schema`'s keys from `source` (default process.env) and validates them. Unset and empty
 * variables are both "not set", so a default applies. A secret variable (isSecretVariable) may instead
 * name a file in `<NAME>_FILE` (compose `secrets:`, mounted under /run/secrets): its content, without
 * one trailing newline, is the value; setting both is an error. A secret with a placeholder value is
 * refused.
 */
export function loadEnvConfig<S extends Shape>(
  schema: z.ZodObject<S>,
  source: Record<string, string | undefined> = process.env,
  prefix = ENV_PREFIX,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): z.infer<z.ZodObject<S>> {
  const raw: Record<string, string> = {};
  const problems: { variable: string; message: string; value?: string }[] = [];
  for (const key of Object.keys(schema.shape)) {
    const name = envName(key, prefix);
    let value = source[name];
    const file = isSecretVariable(name) ? source[`${name}_FILE`] : undefined;
    if (file !== undefined && file !== '') {
      if (value !== undefined && value !== '') {
        problems.push({ variable: `${name}_FILE`, message: `set ${name} or ${name}_FILE, not both` });
        continue;
      }
      try {
        value = readFile(file).replace(/\r?\n$/, '');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        problems.push({ variable: `${name}_FILE`, message: `cannot read ${file} (${code})` });
        continue;
      }
      if (value === '') {
        problems.push({ variable: `${name}_FILE`, message: `${file} is empty` });
        continue;
      }
    }
    if (value !== undefined && value !== '' && isSecretVariable(name) && isPlaceholderSecret(value)) {
      problems.push({
        variable: name,
        message: 'a placeholder value: set a real secret (openssl rand -hex 32)',
      });
      continue;
    }
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success && problems.length === 0) return parsed.data;
  const seen = new Set(problems.map((p) => p.variable.replace(/_FILE$/, '')));
  throw new ConfigError([
    ...problems,
    ...(parsed.success ? [] : parsed.error.issues)
      .map((issue) => {
        const key = String(issue.path[0] ?? '');
        const variable = key ? envName(key, prefix) : '(config)';
        const value = raw[key];
        const message =
          issue.code === 'invalid_type' && value === undefined ? 'required but not set' : issue.message;
        return value !== undefined && !isSecretVariable(variable)
          ? { variable, message, value }
          : { variable, message };
      })
      // A variable already refused above is not also reported as missing.
      .filter((p) => !seen.has(p.variable)),
  ]);
}

/** Settings every service has. Spread into a service's schema. */
export const commonConfigShape = {
  /** redis://[:password@]host:port[/db]. The password may instead come from EDGEFLEET_REDIS_PASSWORD. */
  redisUrl: z.string().default('redis://127.0.0.1:6379'),
  redisPassword: z.string().optional(),
  /** Prefix of every Redis key, stream and channel. */
  redisPrefix: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ -')
    .default('edgefleet'),
  /** This node's name (gossip name, notification `node`); default: the host name. */
  nodeName: z.string().min(1).max(128).optional(),
  /** Stable consumer/instance id; default: `<service>-<nodeName>`, so a restart re-reads its own pending. */
  instanceId: z.string().min(1).max(128).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Address the service's HTTP server binds. Off loopback, mutating endpoints require apiToken. */
  httpHost: z.string().default('127.0.0.1'),
  /** Bearer token for mutating HTTP endpoints (required when httpHost is not loopback). */
  apiToken: z.string().min(16, 'at least 16 characters').optional(),
  /** How long a SIGTERM may take, in ms, before the process exits anyway. */
  shutdownTimeoutMs: env.int(100, 600_000).default(15_000),
};
