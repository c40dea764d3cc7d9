// The node's job API (app.inject against a real Redis): submit, get, list, cancel, logs, the token,
// and malformed requests.
import { readFileSync } from 'node:fs';
import {
  ErrorResponse,
  JobList,
  JobRecord,
  JobSubmitResponse,
  LogTailResponse,
  logChunkFields,
  splitLogText,
} from '@edgefleet/contracts';
import { transitionJob } from '@edgefleet/service-kit';
import { eventually, logSink, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../src/core/signature.js';
import { renderOpenApi } from '../src/openapi.js';
import { malformedCorpus, SECRET } from './corpus.js';
import { jobMessage, jobsInStream, resultsInStream, startReceiver, unique } from './helpers.js';

let redisServer: RedisServer;
let redis: Redis;
const sink = logSink('info');
const TOKEN = 'a-token-of-at-least-16-chars';

beforeAll(async () => {
  redisServer = await startRedisServer();
  redis = redisServer.client();
  redis.setMaxListeners(50);
});
afterAll(async () => {
  redis.disconnect();
  await redisServer.stop();
});

/**
 * The receiver (its factory, started), without queues: the job API only. Like a client of a real node,
 * the tests send jobs once it says it is ready (/readyz: Redis answers, durable, memory and disk allow
 * hand-offs), unless `unready` (a test of a receiver that cannot be ready).
 */
async function api(
  opts: {
    host?: string;
    apiToken?: string;
    requireSignature?: boolean;
    redis?: Redis;
    unready?: boolean;
  } = {},
) {
  const r = await startReceiver({
    redis: opts.redis ?? redis,
    logger: sink.logger,
    queueUrls: [],
    prefix: unique('http'),
    policy: { requireSignature: opts.requireSignature ?? false, signingSecret: SECRET },
    env: {
      EDGEFLEET_HTTP_HOST: opts.host ?? '127.0.0.1',
      ...(opts.apiToken ? { EDGEFLEET_API_TOKEN: opts.apiToken } : {}),
    },
  });
  if (!opts.unready)
    await eventually(
      async () => (await r.service.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      { timeoutMs: 15_000, what: 'the receiver is ready' },
    );
  return { app: r.service.app, names: r.names, get: r.get, close: r.close, port: r.service.port };
}

const post = (
  app: Awaited<ReturnType<typeof api>>['app'],
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('job API', () => {
  it('POST /v1/jobs queues a job through the same path as SQS; a second POST is a duplicate', async () => {
    const { app, names, get, close } = await api();
    const id = unique('h');
    const r1 = await post(app, '/v1/jobs', jobMessage(id));
    expect(r1.statusCode).toBe(202);
    expect(JobSubmitResponse.parse(r1.json())).toEqual({ jobId: id, outcome: 'queued', state: 'QUEUED' });
    const r2 = await post(app, '/v1/jobs', jobMessage(id));
    expect(r2.statusCode).toBe(200);
    expect(r2.json()).toMatchObject({ outcome: 'duplicate', state: 'QUEUED' });
    const entries = await jobsInStream(redis, names);
    expect(entries.map((e) => [e.jobId, e.source])).toEqual([[id, 'http']]);
    expect((await get(id))?.source).toBe('http');
    await close();
  });

  it('GET /v1/jobs/:id returns the record with its full history', async () => {
    const { app, names, close } = await api();
    const id = unique('h');
    await post(app, '/v1/jobs', jobMessage(id));
    await transitionJob(redis, names, {
      jobId: id,
      to: 'DOWNLOADING',
      by: 'job-executor',
      now: Date.now(),
      incrAttempt: true,
    });
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
    expect(r.statusCode).toBe(200);
    const rec: JobRecord = JobRecord.parse(r.json());
    expect(rec).toMatchObject({ jobId: id, state: 'DOWNLOADING', attempt: 1, message: { jobId: id } });
    expect(rec.history.map((h) => [h.state, h.by])).toEqual([
      ['QUEUED', 'job-receiver'],
      ['DOWNLOADING', 'job-executor'],
    ]);
    const missing = await app.inject({ method: 'GET', url: '/v1/jobs/nope-404' });
    expect(missing.statusCode).toBe(404);
    expect(ErrorResponse.parse(missing.json()).error.code).toBe('JOB_NOT_FOUND');
    await close();
  });

  it('GET /v1/jobs lists newest first, filters by state, pages with a cursor', async () => {
    const { app, close } = await api();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = unique(`l${i}`);
      ids.push(id);
      await post(app, '/v1/jobs', jobMessage(id));
    }
    await post(app, `/v1/jobs/${ids[2]}/cancel`, '');
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(r.statusCode).toBe(200);
      // The answer is the contract's shape (packages/contracts/src/job-api.ts).
      const body = JobList.parse(r.json());
      expect(body.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...body.jobs.map((j) => j.jobId));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...ids].reverse());
    const canceled = await app.inject({ method: 'GET', url: '/v1/jobs?state=CANCELED' });
    expect((canceled.json() as { jobs: { jobId: string; state: string }[] }).jobs).toEqual([
      expect.objectContaining({ jobId: ids[2], state: 'CANCELED', cancelRequested: true }),
    ]);
    await close();
  });

  it('POST /v1/jobs/:id/cancel: queued → 200 CANCELED, running → 202 requested, terminal → 409, unknown → 200 (never runs)', async () => {
    const { app, names, close } = await api();
    const queued = unique('cq');
    await post(app, '/v1/jobs', jobMessage(queued));
    const r1 = await post(app, `/v1/jobs/${queued}/cancel`, { reason: 'operator' });
    expect([r1.statusCode, r1.json()]).toEqual([
      200,
      { jobId: queued, outcome: 'canceled', state: 'CANCELED' },
    ]);
    expect((await post(app, `/v1/jobs/${queued}/cancel`, '')).statusCode).toBe(409);

    const running = unique('cr');
    await post(app, '/v1/jobs', jobMessage(running));
    await transitionJob(redis, names, {
      jobId: running,
      to: 'DOWNLOADING',
      by: 'job-executor',
      now: Date.now(),
    });
    const r2 = await post(app, `/v1/jobs/${running}/cancel`, '');
    expect([r2.statusCode, r2.json()]).toEqual([
      202,
      { jobId: running, outcome: 'cancel-requested', state: 'DOWNLOADING' },
    ]);

    const early = unique('ce');
    const r3 = await post(app, `/v1/jobs/${early}/cancel`, '');
    expect(r3.statusCode).toBe(200);
    const r4 = await post(app, '/v1/jobs', jobMessage(early));
    expect(r4.json()).toMatchObject({ outcome: 'duplicate', state: 'CANCELED' });
    expect((await jobsInStream(redis, names)).map((e) => e.jobId)).toEqual([queued, running]);
    expect((await resultsInStream(redis, names)).map((e) => [e.jobId, e.state])).toEqual([
      [queued, 'CANCELED'],
      [early, 'CANCELED'],
    ]);
    await close();
  });

  it('GET /v1/jobs/:id/logs returns the tail; follow=1 streams events until the job is terminal', async () => {
    const { app, names, close, port } = await api();
    const id = unique('logs');
    await post(app, '/v1/jobs', jobMessage(id));
    const key = names.logTailKey(id);
    await redis.xadd(key, 'MAXLEN', '~', 1000, '*', ...logChunkFields({ stream: 'stdout', data: 'hello\n' }));
    await redis.xadd(key, '*', 'stream', 'bogus', 'data', 'skipped');
    const now = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/logs` });
    expect(now.statusCode).toBe(200);
    expect(LogTailResponse.parse(now.json())).toMatchObject({
      jobId: id,
      state: 'QUEUED',
      chunks: [{ stream: 'stdout', data: 'hello\n' }],
    });

    const res = await fetch(`http://127.0.0.1:${port()}/v1/jobs/${id}/logs?follow=1`);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) =>
      eventually(
        async () => {
          if (pattern.test(text)) return true;
          const { value, done } = await reader.read();
          if (value) text += Buffer.from(value).toString('utf8');
          if (done) throw new Error(`stream ended: ${text}`);
          return pattern.test(text);
        },
        { timeoutMs: 5000, what: String(pattern) },
      );
    await readUntil(/hello/);
    for (const c of splitLogText('stderr', 'ünïcode '.repeat(1000)))
      await redis.xadd(key, '*', ...logChunkFields(c));
    await readUntil(/"stream":"stderr"/);
    await post(app, `/v1/jobs/${id}/cancel`, '');
    await readUntil(/event: end\ndata: \{"state":"CANCELED"\}/);
    expect(text).toMatch(/^id: \d+-\d+\nevent: chunk\ndata: \{"stream":"stdout","data":"hello\\n"\}/);
    const last = /id: (\d+-\d+)\nevent: chunk\ndata: \{"stream":"stderr"/.exec(text)?.[1];
    // Resume after an id: only what follows.
    const resumed = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/logs?follow=1`,
      headers: { 'last-event-id': last as string },
    });
    expect(resumed.body).not.toContain('hello');
    expect(resumed.body).toContain('event: end');
    await close();
  });

  it('requires the token off loopback (and whenever one is set), on every /v1 route', async () => {
    const open = await api({ host: '0.0.0.0' });
    const r = await post(open.app, '/v1/jobs', jobMessage(unique('t')));
    expect([r.statusCode, r.json().error.code]).toEqual([401, 'TOKEN_NOT_CONFIGURED']);
    await open.close();
    const guarded = await api({ host: '0.0.0.0', apiToken: TOKEN });
    expect((await guarded.app.inject({ method: 'GET', url: '/v1/jobs' })).statusCode).toBe(401);
    expect(
      (
        await guarded.app.inject({
          method: 'GET',
          url: '/v1/jobs',
          headers: { authorization: 'Bearer wrong-token-wrong-token!' },
        })
      ).statusCode,
    ).toBe(401);
    const ok = await post(guarded.app, '/v1/jobs', jobMessage(unique('t')), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(ok.statusCode).toBe(202);
    expect((await guarded.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect(sink.text()).not.toContain(TOKEN);
    await guarded.close();
  });

  it('checks the signature header when signatures are required', async () => {
    const { app, close } = await api({ requireSignature: true });
    const body = JSON.stringify(jobMessage(unique('sig')));
    expect(
      (await post(app, '/v1/jobs', body, { 'x-edgefleet-signature': signBody(body, SECRET) })).statusCode,
    ).toBe(202);
    const unsigned = await post(app, '/v1/jobs', JSON.stringify(jobMessage(unique('sig'))));
    expect([unsigned.statusCode, unsigned.json().error.code]).toEqual([403, 'SIGNATURE_MISSING']);
    await close();
  });

  it('an unsigned or wrongly signed body claims nothing: the signed job with the same id is then queued', async () => {
    const { app, get, close } = await api({ requireSignature: true });
    const id = unique('claim');
    const forged = JSON.stringify(jobMessage(id, { env: { FORGED: '1' } }));
    const unsigned = await post(app, '/v1/jobs', forged);
    expect([unsigned.statusCode, unsigned.json().error.code]).toEqual([403, 'SIGNATURE_MISSING']);
    const wrong = await post(app, '/v1/jobs', forged, { 'x-edgefleet-signature': 'a'.repeat(64) });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([403, 'SIGNATURE_INVALID']);
    const cancel = JSON.stringify({ version: 1, kind: 'cancel', jobId: id });
    expect((await post(app, '/v1/jobs', cancel)).statusCode).toBe(403);
    expect(await get(id)).toBeNull();
    const body = JSON.stringify(jobMessage(id));
    const signed = await post(app, '/v1/jobs', body, { 'x-edgefleet-signature': signBody(body, SECRET) });
    expect([signed.statusCode, signed.json().outcome]).toEqual([202, 'queued']);
    expect((await get(id))?.message?.env).toEqual({});
    await close();
  });

  it('serves the OpenAPI description, identical to the committed openapi.json', async () => {
    const { app, close } = await api();
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');
    const version = (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    expect(renderOpenApi(version)).toBe(committed); // regenerate: pnpm --filter @edgefleet/job-receiver gen:openapi
    expect(r.json()).toMatchObject({ openapi: '3.1.0', paths: { '/v1/jobs': {}, '/v1/jobs/{id}/logs': {} } });
    await close();
  });
});

describe('malformed HTTP requests', () => {
  it('every malformed body of the corpus: 422 with its reason (record REJECTED) or 400 (no jobId)', async () => {
    const { app, get, close } = await api();
    for (const c of malformedCorpus(unique('hc')).filter((x) => !x.signed)) {
      const r = await post(app, '/v1/jobs', c.body);
      if (c.jobId) {
        expect([c.name, r.statusCode, r.json().reason]).toEqual([c.name, 422, c.code]);
        expect((await get(c.jobId))?.state).toBe('REJECTED');
      } else {
        const code = c.name === 'empty body' ? 'EMPTY_BODY' : c.code;
        expect([c.name, r.statusCode, r.json().error.code]).toEqual([c.name, 400, code]);
      }
    }
    await close();
  });

  it.each([
    ['POST /v1/jobs without a body', 'POST', '/v1/jobs', undefined, 'application/json', 400, 'EMPTY_BODY'],
    ['POST /v1/jobs as text/plain', 'POST', '/v1/jobs', 'hello', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'POST /v1/jobs over the body limit',
      'POST',
      '/v1/jobs',
      `"${'x'.repeat(1_100_000)}"`,
      'application/json',
      413,
      'FST_ERR_CTP_BODY_TOO_LARGE',
    ],
    ['GET a bad job id', 'GET', '/v1/jobs/..%2Fetc', undefined, undefined, 400, 'BAD_JOB_ID'],
    [
      'GET a job id that is too long',
      'GET',
      `/v1/jobs/${'a'.repeat(200)}`,
      undefined,
      undefined,
      400,
      'BAD_JOB_ID',
    ],
    ['GET /v1/jobs?limit=0', 'GET', '/v1/jobs?limit=0', undefined, undefined, 400, 'BAD_REQUEST'],
    ['GET /v1/jobs?limit=abc', 'GET', '/v1/jobs?limit=abc', undefined, undefined, 400, 'BAD_REQUEST'],
    ['GET /v1/jobs?state=DONE', 'GET', '/v1/jobs?state=DONE', undefined, undefined, 400, 'BAD_REQUEST'],
    ['GET /v1/jobs?unknown=1', 'GET', '/v1/jobs?unknown=1', undefined, undefined, 400, 'BAD_REQUEST'],
    [
      'GET /v1/jobs with a forged cursor',
      'GET',
      '/v1/jobs?cursor=Zm9vOmJhcg',
      undefined,
      undefined,
      400,
      'BAD_CURSOR',
    ],
    [
      'cancel with a non-JSON body',
      'POST',
      '/v1/jobs/abc/cancel',
      '{nope',
      'application/json',
      400,
      'INVALID_JSON',
    ],
    [
      'cancel with an unknown field',
      'POST',
      '/v1/jobs/abc/cancel',
      '{"why":1}',
      'application/json',
      400,
      'BAD_REQUEST',
    ],
    ['cancel with a bad job id', 'POST', '/v1/jobs/-x/cancel', '', 'application/json', 400, 'BAD_JOB_ID'],
    [
      'logs with a bad follow',
      'GET',
      '/v1/jobs/abc/logs?follow=yes',
      undefined,
      undefined,
      400,
      'BAD_REQUEST',
    ],
    [
      'logs with a bad after id',
      'GET',
      '/v1/jobs/abc/logs?after=zz',
      undefined,
      undefined,
      400,
      'BAD_REQUEST',
    ],
    [
      'logs of an unknown job',
      'GET',
      '/v1/jobs/unknown-job/logs',
      undefined,
      undefined,
      404,
      'JOB_NOT_FOUND',
    ],
    ['an unknown route', 'DELETE', '/v1/jobs/abc', undefined, undefined, 404, 'NOT_FOUND'],
    ['an unknown job action', 'POST', '/v1/jobs/abc/restart', '', 'application/json', 404, 'NOT_FOUND'],
    [
      'a 128-character job id that does not exist',
      'GET',
      `/v1/jobs/${'b'.repeat(128)}`,
      undefined,
      undefined,
      404,
      'JOB_NOT_FOUND',
    ],
  ] as const)('%s', async (_name, method, url, payload, type, status, code) => {
    const { app, close } = await api();
    const r = await app.inject({
      method,
      url,
      ...(payload !== undefined ? { payload } : {}),
      ...(type ? { headers: { 'content-type': type } } : {}),
    });
    expect([r.statusCode, r.json().error?.code]).toEqual([status, code]);
    await close();
  });

  it('answers 503 while Redis is unreachable', async () => {
    const dead = redisServer.client();
    dead.disconnect();
    const { app, close } = await api({ redis: dead, unready: true });
    expect((await post(app, '/v1/jobs', jobMessage(unique('d')))).statusCode).toBe(503);
    const r = await app.inject({ method: 'GET', url: '/v1/jobs/abc' });
    expect([r.statusCode, r.json().error.code]).toEqual([503, 'UNAVAILABLE']);
    await close();
  });
});
