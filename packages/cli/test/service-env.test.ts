// The single-process node's per-service settings: EDGEFLEET_<SERVICE>__<NAME> reaches that service
// only, as EDGEFLEET_<NAME>, over the shared environment; local mode writes them with the inverse.
import { describe, expect, it } from 'vitest';
import { prefixServiceEnv, serviceEnv } from '../src/node/service-env.js';

describe('serviceEnv', () => {
  const env = {
    PATH: '/bin',
    EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:6390',
    EDGEFLEET_LOG_LEVEL: 'info',
    EDGEFLEET_RECEIVER__PORT: '4100',
    EDGEFLEET_RECEIVER__LOG_LEVEL: 'debug',
    EDGEFLEET_EXECUTOR__PORT: '4101',
    EDGEFLEET_GOSSIP__BIND_PORT: '8000',
  };

  it("gives each service its own prefixed settings over the shared ones, and none of the others'", () => {
    expect(serviceEnv(env, 'job-receiver')).toEqual({
      PATH: '/bin',
      EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:6390',
      EDGEFLEET_LOG_LEVEL: 'debug',
      EDGEFLEET_PORT: '4100',
    });
    expect(serviceEnv(env, 'job-executor')).toEqual({
      PATH: '/bin',
      EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:6390',
      EDGEFLEET_LOG_LEVEL: 'info',
      EDGEFLEET_PORT: '4101',
    });
    expect(serviceEnv(env, 'gossip-membership').EDGEFLEET_BIND_PORT).toBe('8000');
    expect(serviceEnv(env, 'result-uploader').EDGEFLEET_PORT).toBeUndefined();
  });

  it('round-trips what local mode writes', () => {
    const written = {
      ...prefixServiceEnv('result-uploader', { EDGEFLEET_PORT: '4102', AWS_REGION: 'us-east-1' }),
      ...prefixServiceEnv('job-receiver', { EDGEFLEET_PORT: '4100' }),
    };
    expect(written).toEqual({
      EDGEFLEET_UPLOADER__PORT: '4102',
      EDGEFLEET_RECEIVER__PORT: '4100',
      AWS_REGION: 'us-east-1',
    });
    expect(serviceEnv(written, 'result-uploader')).toEqual({
      EDGEFLEET_PORT: '4102',
      AWS_REGION: 'us-east-1',
    });
  });
});
