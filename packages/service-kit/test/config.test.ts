import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonConfigShape, env, envName, loadEnvConfig } from '../src/index.js';

const schema = z.object({
  ...commonConfigShape,
  port: env.port().default(4100),
  queueUrls: env.list().default([]),
  requireSignature: env.bool().default(false),
  maxBacklog: env.int(1, 100_000).default(100),
});

describe('loadEnvConfig', () => {
  it('maps camelCase keys to EDGEFLEET_ variables', () => {
    expect(envName('redisUrl')).toBe('EDGEFLEET_REDIS_URL');
    expect(envName('queueUrls')).toBe('EDGEFLEET_QUEUE_URLS');
    expect(envName('maxBacklog')).toBe('EDGEFLEET_MAX_BACKLOG');
    expect(envName('defaultOutputMiB')).toBe('EDGEFLEET_DEFAULT_OUTPUT_MIB');
    expect(envName('defaultMemoryMiB')).toBe('EDGEFLEET_DEFAULT_MEMORY_MIB');
    expect(envName('uploadPartSizeMib')).toBe('EDGEFLEET_UPLOAD_PART_SIZE_MIB');
    expect(envName('streamMaxMiB')).toBe('EDGEFLEET_STREAM_MAX_MIB');
  });

  it('applies defaults and coerces values', () => {
    const c = loadEnvConfig(schema, {
      EDGEFLEET_PORT: '4200',
      EDGEFLEET_QUEUE_URLS: 'a, b,,c',
      EDGEFLEET_REQUIRE_SIGNATURE: 'TRUE',
      EDGEFLEET_MAX_BACKLOG: '',
    });
    expect(c).toMatchObject({
      port: 4200,
      queueUrls: ['a', 'b', 'c'],
      requireSignature: true,
      maxBacklog: 100,
      redisUrl: 'redis://127.0.0.1:6379',
    });
  });

  it.each([
    ['EDGEFLEET_PORT', 'abc', /EDGEFLEET_PORT: expected an integer/],
    ['EDGEFLEET_PORT', '70000', /EDGEFLEET_PORT/],
    ['EDGEFLEET_REQUIRE_SIGNATURE', 'maybe', /EDGEFLEET_REQUIRE_SIGNATURE: expected true or false/],
    ['EDGEFLEET_MAX_BACKLOG', '0', /EDGEFLEET_MAX_BACKLOG/],
    ['EDGEFLEET_LOG_LEVEL', 'loud', /EDGEFLEET_LOG_LEVEL/],
    ['EDGEFLEET_REDIS_PREFIX', 'a b', /EDGEFLEET_REDIS_PREFIX/],
  ])('names the bad variable %s=%s', (name, value, pattern) => {
    expect(() => loadEnvConfig(schema, { [name]: value })).toThrow(pattern);
  });

  it('reports every problem at once, and never echoes a secret', () => {
    try {
      loadEnvConfig(schema, { EDGEFLEET_PORT: 'x', EDGEFLEET_API_TOKEN: 'short-secret' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const err = e as ConfigError;
      expect(err.problems.map((p) => p.variable).sort()).toEqual(['EDGEFLEET_API_TOKEN', 'EDGEFLEET_PORT']);
      expect(err.message).not.toContain('short-secret');
    }
  });

  it('refuses the placeholder secrets of docker/.env.example, naming the variable, never the value', () => {
    const placeholder = 'change-me-to-openssl-rand-hex-32';
    for (const variable of ['EDGEFLEET_REDIS_PASSWORD', 'EDGEFLEET_API_TOKEN']) {
      try {
        loadEnvConfig(schema, { [variable]: placeholder });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems).toEqual([
          { variable, message: expect.stringMatching(/placeholder/) },
        ]);
        expect((e as ConfigError).message).not.toContain(placeholder);
      }
    }
    // The same text in a variable that is not a secret is just a value.
    expect(loadEnvConfig(schema, { EDGEFLEET_NODE_NAME: 'change-me' }).nodeName).toBe('change-me');
  });

  it('reads a secret from <NAME>_FILE (compose secrets), refusing both, unreadable and empty files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-secret-'));
    try {
      const file = join(dir, 'redis_password');
      writeFileSync(file, 'from-a-file-0123456789\n');
      expect(loadEnvConfig(schema, { EDGEFLEET_REDIS_PASSWORD_FILE: file }).redisPassword).toBe(
        'from-a-file-0123456789',
      );
      const both = () =>
        loadEnvConfig(schema, { EDGEFLEET_REDIS_PASSWORD: 'x', EDGEFLEET_REDIS_PASSWORD_FILE: file });
      expect(both).toThrow(
        /EDGEFLEET_REDIS_PASSWORD_FILE: set EDGEFLEET_REDIS_PASSWORD or EDGEFLEET_REDIS_PASSWORD_FILE, not both/,
      );
      expect(() => loadEnvConfig(schema, { EDGEFLEET_REDIS_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
        /EDGEFLEET_REDIS_PASSWORD_FILE: cannot read .*ENOENT/,
      );
      const empty = join(dir, 'empty');
      writeFileSync(empty, '');
      expect(() => loadEnvConfig(schema, { EDGEFLEET_REDIS_PASSWORD_FILE: empty })).toThrow(/is empty/);
      writeFileSync(file, 'change-me-to-openssl-rand-hex-32\n');
      expect(() => loadEnvConfig(schema, { EDGEFLEET_REDIS_PASSWORD_FILE: file })).toThrow(
        /EDGEFLEET_REDIS_PASSWORD: a placeholder value/,
      );
      // Only secrets come from files: a _FILE for another setting is not read.
      expect(loadEnvConfig(schema, { EDGEFLEET_PORT_FILE: file }).port).toBe(4100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
