import { logSink } from '@edgefleet/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, createMetricsRegistry, type HttpApp } from '../src/index.js';

let h: HttpApp | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe('createHttpApp', () => {
  it('answers healthz, readyz and metrics', async () => {
    let ready = false;
    h = createHttpApp({
      service: 'svc',
      logger: logSink().logger,
      checks: [{ name: 'redis', check: async () => ready }],
    });
    expect((await h.app.inject('/healthz')).json()).toEqual({ status: 'ok', service: 'svc' });
    const notReady = await h.app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not-ready', checks: { redis: false } });
    ready = true;
    expect((await h.app.inject('/readyz')).statusCode).toBe(200);
    const metrics = await h.app.inject('/metrics');
    expect(metrics.body).toContain('process_cpu_seconds_total');
    expect(metrics.body).toContain('service="svc"');
  });

  it('a throwing check counts as not ready', async () => {
    h = createHttpApp({
      service: 'svc',
      logger: logSink().logger,
      checks: [{ name: 'x', check: () => Promise.reject(new Error('down')) }],
    });
    expect((await h.app.inject('/readyz')).statusCode).toBe(503);
  });

  it('answers unknown routes and bad JSON with a coded error body', async () => {
    h = createHttpApp({ service: 'svc', logger: logSink().logger });
    h.app.post('/echo', async (req) => req.body);
    const nf = await h.app.inject('/nope');
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route for GET /nope' } });
    const bad = await h.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBeTypeOf('string');
  });

  it('requires the token off loopback, and accepts only the right one', async () => {
    h = createHttpApp({
      service: 'svc',
      logger: logSink().logger,
      host: '0.0.0.0',
      apiToken: 'a-very-long-secret-token',
    });
    const { app, requireToken } = h;
    app.post('/mutate', { preHandler: requireToken }, async () => ({ ok: true }));
    expect((await app.inject({ method: 'POST', url: '/mutate' })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'POST', url: '/mutate', headers: { authorization: 'Bearer wrong' } }))
        .statusCode,
    ).toBe(401);
    const ok = await app.inject({
      method: 'POST',
      url: '/mutate',
      headers: { authorization: 'Bearer a-very-long-secret-token' },
    });
    expect(ok.json()).toEqual({ ok: true });
  });

  it('answers a malformed %-escape in the URL with the same coded error body', async () => {
    h = createHttpApp({ service: 'svc', logger: logSink().logger });
    h.app.get('/files/*', async () => ({ ok: true }));
    const r = await h.app.inject('/files/%E0%A4%A');
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: { code: 'FST_ERR_BAD_URL', message: "'/files/%E0%A4%A' is not a valid url component" },
    });
  });

  it('off loopback without a configured token, mutating routes are refused', async () => {
    h = createHttpApp({ service: 'svc', logger: logSink().logger, host: '0.0.0.0' });
    h.app.post('/mutate', { preHandler: h.requireToken }, async () => ({ ok: true }));
    const r = await h.app.inject({ method: 'POST', url: '/mutate' });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('TOKEN_NOT_CONFIGURED');
  });

  it('on loopback without a token, mutating routes are open', async () => {
    h = createHttpApp({ service: 'svc', logger: logSink().logger, host: '127.0.0.1' });
    h.app.post('/mutate', { preHandler: h.requireToken }, async () => ({ ok: true }));
    expect((await h.app.inject({ method: 'POST', url: '/mutate' })).statusCode).toBe(200);
  });
});

describe('createMetricsRegistry', () => {
  it('keeps the default lag series at the default period, and leaves out the period-skewed ones when it is raised', async () => {
    const plain = await createMetricsRegistry('svc').metrics();
    expect(plain).toContain('nodejs_eventloop_lag_p99_seconds');
    const slow = await createMetricsRegistry('svc', { eventLoopMonitoringPrecision: 1000 }).metrics();
    expect(slow).toContain('nodejs_eventloop_lag_seconds{service="svc"}');
    expect(slow).toContain('process_cpu_seconds_total');
    for (const s of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'])
      expect(slow).not.toContain(`nodejs_eventloop_lag_${s}_seconds`);
  });
});
