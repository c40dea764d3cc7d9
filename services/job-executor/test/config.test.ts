import { ConfigError } from '@edgefleet/service-kit';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('job-executor settings', () => {
  it('waits out S3 outages for 30 minutes by default', () => {
    expect(loadConfig({}).downloadOutageSeconds).toBe(1800);
    expect(loadConfig({ EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS: '60' }).downloadOutageSeconds).toBe(60);
  });

  it.each([['0'], ['-30'], ['1e12'], ['99999999'], ['half an hour'], ['1.5']])(
    'refuses EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS=%s naming the variable',
    (v) => {
      const env = { EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS: v };
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(/EDGEFLEET_DOWNLOAD_OUTAGE_SECONDS/);
    },
  );
});
