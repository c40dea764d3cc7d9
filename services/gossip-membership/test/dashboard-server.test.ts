// The dashboard's server side over HTTP: static files (types, caching, path safety), the /v1/jobs
// proxy (pass-through, streaming, 502 when the job API is down, the token guard) and the live member
// stream (a snapshot, then only changes).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpApp } from '@edgefleet/service-kit';
import { eventually, freePort } from '@edgefleet/testkit';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { type MemberEvents, registerDashboard } from '../src/dashboard-server/index.js';
import { resolveStaticPath } from '../src/dashboard-server/static-files.js';
import type { MemberInfo, MembershipView } from '../src/membership-view.js';
import { type FakeJobApi, startFakeJobApi } from './helpers/fake-job-api.js';

const logger = pino({ level: 'silent' });

function staticDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dash-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(join(dir, '.secret'), 'no');
  return dir;
}

const member = (name: string, state: MemberInfo['state'] = 'alive', incarnation = 1): MemberInfo => ({
  name,
  ip: '127.0.0.1',
  port: 7000,
  state,
  incarnation,
  meta: new TextEncoder().encode(JSON.stringify({ v: 1, role: 'edge', ver: '0.1.0', labels: {} })),
  stateChangeMs: 1_764_000_000_000,
});

function fakeView(list: MemberInfo[]): MembershipView {
  return {
    self: () => list[0] as MemberInfo,
    members: () => list.map((m) => ({ ...m })),
    health: () => 0,
    leave: async () => {},
  };
}

/** A MemberEvents source the test fires by hand. */
function manualEvents(): MemberEvents & { fire(): void } {
  const listeners = new Set<() => void>();
  return {
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    fire: () => {
      for (const l of listeners) l();
    },
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(
  opts: Partial<Parameters<typeof registerDashboard>[1]> & {
    host?: string;
    apiToken?: string;
    logger?: pino.Logger;
  },
) {
  const http = createHttpApp({
    service: 'gossip-membership',
    logger: opts.logger ?? logger,
    host: opts.host ?? '127.0.0.1',
    ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
  });
  registerDashboard(http.app, {
    view: opts.view ?? (() => fakeView([member('a')])),
    staticDir: opts.staticDir ?? staticDir(),
    requireToken: http.requireToken,
    ...(opts.jobApiUrl ? { jobApiUrl: opts.jobApiUrl } : {}),
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.sweepMs ? { sweepMs: opts.sweepMs } : {}),
  });
  await http.app.listen({ host: '127.0.0.1', port: await freePort() });
  cleanups.push(() => http.app.close());
  const port = (http.app.server.address() as AddressInfo).port;
  return { app: http.app, base: `http://127.0.0.1:${port}` };
}

describe('dashboard static files', () => {
  it('serves the page revalidated and hashed assets as immutable, with their content types', async () => {
    const { app } = await serve({});
    const index = await app.inject('/dashboard/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    const again = await app.inject({
      url: '/dashboard/index.html',
      headers: { 'if-none-match': String(index.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const js = await app.inject('/dashboard/assets/index-abc123.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    expect((await app.inject('/dashboard/assets/index-abc123.css')).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    expect((await app.inject('/')).headers.location).toBe('/dashboard/');
  });

  it('refuses paths outside the folder, hidden files and unknown types', async () => {
    const { app } = await serve({});
    for (const url of [
      '/dashboard/..%2f..%2fetc%2fpasswd',
      '/dashboard/.secret',
      '/dashboard/%2e%2e/x',
      '/dashboard/nope.js',
    ])
      expect((await app.inject(url)).statusCode, url).toBe(404);
    expect(resolveStaticPath('/srv/d', '../x')).toBeUndefined();
    expect(resolveStaticPath('/srv/d', 'a\\..\\..\\x')).toBeUndefined();
    expect(resolveStaticPath('/srv/d', 'a%00.js')).toBeUndefined();
    expect(resolveStaticPath('/srv/d', '')).toBe('/srv/d/index.html');
  });

  it('says the dashboard is not built when its folder is empty', async () => {
    const { app } = await serve({ staticDir: mkdtempSync(join(tmpdir(), 'dash-empty-')) });
    const r = await app.inject('/dashboard/');
    expect(r.statusCode).toBe(404);
    expect(r.json().error.code).toBe('DASHBOARD_NOT_BUILT');
  });
});

describe('job API proxy', () => {
  let fake: FakeJobApi;
  const startFake = async () => {
    fake = await startFakeJobApi({ port: await freePort() });
    cleanups.push(() => fake.close());
  };

  it('passes method, path, query, body and Authorization through, and the answer back', async () => {
    await startFake();
    const { app } = await serve({ jobApiUrl: fake.url, apiToken: 't0k' });
    const post = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' },
      payload: '{"jobId":"j-1"}',
    });
    expect(post.statusCode).toBe(202);
    expect(post.json()).toEqual({ jobId: 'j-1', outcome: 'queued', state: 'QUEUED' });
    expect(fake.received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/v1/jobs',
      authorization: 'Bearer t0k',
      contentType: 'application/json',
      body: '{"jobId":"j-1"}',
    });
    const list = await app.inject('/v1/jobs?limit=5&state=QUEUED');
    expect(list.statusCode).toBe(200);
    expect(fake.received.at(-1)?.url).toBe('/v1/jobs?limit=5&state=QUEUED');
    expect(list.json().jobs[0].jobId).toBe('j-1');
    const missing = await app.inject('/v1/jobs/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('JOB_NOT_FOUND');
  });

  it("forwards the browser's token to a job API that requires one, adds none itself, logs none", async () => {
    fake = await startFakeJobApi({ port: await freePort(), token: 'job-api-secret' });
    cleanups.push(() => fake.close());
    const lines: string[] = [];
    const capture = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    // The membership service runs without a token of its own (loopback), as in local mode's gossip.
    const { app } = await serve({ jobApiUrl: fake.url, logger: capture });
    const anonymous = await app.inject('/v1/jobs');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHORIZED');
    expect(fake.received.at(-1)?.authorization).toBeUndefined();
    const wrong = await app.inject({ url: '/v1/jobs', headers: { authorization: 'Bearer guess' } });
    expect(wrong.statusCode).toBe(401);
    fake.jobs.push({ jobId: 'j-auth', createdAt: Date.now() });
    const ok = await app.inject({ url: '/v1/jobs', headers: { authorization: 'Bearer job-api-secret' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().jobs[0].jobId).toBe('j-auth');
    expect(fake.received.at(-1)?.authorization).toBe('Bearer job-api-secret');
    const record = await app.inject({
      url: '/v1/jobs/j-auth',
      headers: { authorization: 'Bearer job-api-secret' },
    });
    expect(record.statusCode).toBe(200);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('job-api-secret');
  });

  it('guards mutating requests with the service token', async () => {
    await startFake();
    const { app } = await serve({ jobApiUrl: fake.url, apiToken: 't0k' });
    const r = await app.inject({ method: 'POST', url: '/v1/jobs/j-1/cancel', payload: '' });
    expect(r.statusCode).toBe(401);
    expect(fake.received).toHaveLength(0);
  });

  it('streams server-sent events as they come', async () => {
    await startFake();
    const { base } = await serve({ jobApiUrl: fake.url });
    fake.jobs.push({ jobId: 'j-2', createdAt: Date.now() });
    const res = await fetch(`${base}/v1/jobs/j-2/logs?follow=1`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // The first chunk arrives while the upstream stream is still open (it ends 300 ms later).
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: chunk');
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(first + rest).toContain('event: end');
  });

  it('answers 502 JOB_API_UNREACHABLE when the job API is down', async () => {
    const { app } = await serve({ jobApiUrl: `http://127.0.0.1:${await freePort()}` });
    const r = await app.inject('/v1/jobs');
    expect(r.statusCode).toBe(502);
    expect(r.json().error.code).toBe('JOB_API_UNREACHABLE');
  });
});

describe('live member stream', () => {
  async function readEvents(
    base: string,
    until: (text: string) => boolean,
  ): Promise<{ text: string; stop(): void }> {
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/members/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const state = { text: '', stop: () => ac.abort() };
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          state.text += new TextDecoder().decode(value);
        }
      } catch {}
    })();
    await eventually(() => until(state.text), { timeoutMs: 5_000, what: 'first events' });
    return state;
  }

  it('sends a snapshot, then each change once (member, removed) when events fire', async () => {
    const list = [member('a'), member('b')];
    const events = manualEvents();
    const { base } = await serve({ view: () => fakeView(list), events, sweepMs: 60_000 });
    const s = await readEvents(base, (t) => t.includes('event: snapshot'));
    const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(s.text)?.[1] ?? '{}');
    expect(snapshot.self).toBe('a');
    expect(snapshot.members.map((m: { name: string; state: string }) => `${m.name}:${m.state}`)).toEqual([
      'a:alive',
      'b:alive',
    ]);
    expect(snapshot.members[0].meta.role).toBe('edge');

    list[1] = member('b', 'suspect', 1);
    events.fire();
    events.fire(); // a burst: one comparison, one message
    await eventually(() => s.text.includes('"state":"suspect"'), { timeoutMs: 5_000 });
    list.pop();
    events.fire();
    await eventually(() => s.text.includes('event: removed\ndata: {"name":"b"}'), { timeoutMs: 5_000 });
    expect(s.text.match(/event: member/g)).toHaveLength(1);
    s.stop();
  });

  it('finds changes by itself without an event source', async () => {
    const list = [member('a'), member('b')];
    const { base } = await serve({ view: () => fakeView(list), sweepMs: 50 });
    const s = await readEvents(base, (t) => t.includes('event: snapshot'));
    list[1] = member('b', 'dead', 1);
    await eventually(() => s.text.includes('"name":"b","ip":"127.0.0.1","port":7000,"state":"dead"'), {
      timeoutMs: 5_000,
    });
    s.stop();
  });

  it('describes members exactly as GET /v1/members does', async () => {
    const view = fakeView([
      member('a'),
      { ...member('go-node'), meta: new TextEncoder().encode('plain go meta') },
    ]);
    const { app } = buildApp({ logger, checks: [], host: '127.0.0.1', view: () => view });
    registerDashboard(app, { view: () => view, staticDir: staticDir() });
    await app.listen({ host: '127.0.0.1', port: await freePort() });
    cleanups.push(() => app.close());
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const s = await readEvents(base, (t) => t.includes('event: snapshot'));
    const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(s.text)?.[1] ?? '{}');
    expect(snapshot).toEqual((await app.inject('/v1/members')).json());
    s.stop();
  });

  it('ends open streams when the server closes, so shutdown does not wait for browsers', async () => {
    const { app, base } = await serve({});
    const s = await readEvents(base, (t) => t.includes('event: snapshot'));
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    s.stop();
  });

  it('answers 503 before the node has started', async () => {
    const { app } = await serve({ view: () => undefined });
    const r = await app.inject('/v1/members/events');
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('NOT_STARTED');
  });
});
