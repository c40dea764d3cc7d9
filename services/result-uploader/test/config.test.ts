import { ConfigError } from '@edgefleet/service-kit';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4102,
      outputBuckets: [],
      s3ForcePathStyle: false,
      uploadConcurrency: 4,
      uploadPartSizeMib: 8,
      uploadPartConcurrency: 2,
      notifyDeadlineMs: 60_000,
      keepJobDirSeconds: 0,
      webhookAllowedHosts: [],
    });
  });
  it('parses lists and lower-cases hosts', () => {
    const c = loadConfig({
      EDGEFLEET_OUTPUT_BUCKETS: 'a, b,,c',
      EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: 'Hooks.Example.com,*.corp.example,127.0.0.1:8080',
      EDGEFLEET_WEBHOOK_SECRET: '0123456789abcdef',
    });
    expect(c.outputBuckets).toEqual(['a', 'b', 'c']);
    expect(c.webhookAllowedHosts).toEqual(['hooks.example.com', '*.corp.example', '127.0.0.1:8080']);
  });
  it.each([
    [{ EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: 'a.example' }, 'EDGEFLEET_WEBHOOK_SECRET'],
    [
      { EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: 'http://a.example', EDGEFLEET_WEBHOOK_SECRET: '0123456789abcdef' },
      'EDGEFLEET_WEBHOOK_ALLOWED_HOSTS',
    ],
    [{ EDGEFLEET_UPLOAD_CONCURRENCY: '0' }, 'EDGEFLEET_UPLOAD_CONCURRENCY'],
    [{ EDGEFLEET_NOTIFY_DEADLINE_MS: 'soon' }, 'EDGEFLEET_NOTIFY_DEADLINE_MS'],
    [{ EDGEFLEET_MAX_DELIVERIES: '0' }, 'EDGEFLEET_MAX_DELIVERIES'],
    [{ EDGEFLEET_WEBHOOK_URL: 'https://x.example/cb' }, 'EDGEFLEET_WEBHOOK_SECRET'],
    [
      { EDGEFLEET_WEBHOOK_URL: 'http://x.example/cb', EDGEFLEET_WEBHOOK_SECRET: '0123456789abcdef' },
      'EDGEFLEET_WEBHOOK_ALLOW_HTTP=true',
    ],
    [{ EDGEFLEET_WEBHOOK_URL: 'ftp://x' }, 'EDGEFLEET_WEBHOOK_URL: expected an http(s) URL'],
    [{ EDGEFLEET_UPLOAD_PART_SIZE_MIB: '1' }, 'EDGEFLEET_UPLOAD_PART_SIZE_MIB'],
    [{ EDGEFLEET_S3_FORCE_PATH_STYLE: 'maybe' }, 'EDGEFLEET_S3_FORCE_PATH_STYLE: expected true or false'],
    [{ EDGEFLEET_KEEP_JOB_DIR_SECONDS: '-1' }, 'EDGEFLEET_KEEP_JOB_DIR_SECONDS'],
    [{ EDGEFLEET_UPLOAD_OUTAGE_SECONDS: '0' }, 'EDGEFLEET_UPLOAD_OUTAGE_SECONDS'],
    [{ EDGEFLEET_UPLOAD_OUTAGE_SECONDS: '-60' }, 'EDGEFLEET_UPLOAD_OUTAGE_SECONDS'],
    [{ EDGEFLEET_UPLOAD_OUTAGE_SECONDS: '1e12' }, 'EDGEFLEET_UPLOAD_OUTAGE_SECONDS'],
    [{ EDGEFLEET_UPLOAD_OUTAGE_SECONDS: 'a day' }, 'EDGEFLEET_UPLOAD_OUTAGE_SECONDS'],
    [{ EDGEFLEET_NOTIFY_OUTAGE_SECONDS: '0' }, 'EDGEFLEET_NOTIFY_OUTAGE_SECONDS'],
    [{ EDGEFLEET_NOTIFY_OUTAGE_SECONDS: '-5' }, 'EDGEFLEET_NOTIFY_OUTAGE_SECONDS'],
    [{ EDGEFLEET_NOTIFY_OUTAGE_SECONDS: '99999999999' }, 'EDGEFLEET_NOTIFY_OUTAGE_SECONDS'],
    [{ EDGEFLEET_KEEP_FAILED_SECONDS: '-1' }, 'EDGEFLEET_KEEP_FAILED_SECONDS'],
    [{ EDGEFLEET_KEEP_FAILED_SECONDS: '99999999999' }, 'EDGEFLEET_KEEP_FAILED_SECONDS'],
    [{ EDGEFLEET_RESULTS_QUEUE_URL: 'not a url' }, 'EDGEFLEET_RESULTS_QUEUE_URL: expected an http(s) URL'],
    [{ EDGEFLEET_WEBHOOK_SECRET: 'short' }, 'EDGEFLEET_WEBHOOK_SECRET: at least 16 characters'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
  it('never echoes a secret in the error', () => {
    let message = '';
    try {
      loadConfig({ EDGEFLEET_WEBHOOK_SECRET: 'hunter2' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('EDGEFLEET_WEBHOOK_SECRET');
    expect(message).not.toContain('hunter2');
  });
});
