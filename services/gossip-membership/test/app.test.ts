// The HTTP API over a plain MembershipView: legacy endpoints with the Go program's exact keys, the
// /v1 API, the token guard on /v1/leave, and every malformed request.
import { encodeNodeMeta } from '@edgefleet/contracts';
import { silentLogger } from '@edgefleet/service-kit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import type { MemberInfo, MembershipView } from '../src/membership-view.js';
import { createGossipMetrics } from '../src/metrics.js';

const meta = encodeNodeMeta({ v: 1, role: 'edge', ver: '0.1.0', labels: { arch: 'arm64' } });
const member = (name: string, state: MemberInfo['state'], extra: Partial<MemberInfo> = {}): MemberInfo => ({
  name,
  ip: '127.0.0.1',
  port: 8000,
  state,
  incarnation: 1,
  meta: null,
  stateChangeMs: Date.UTC(2026, 10, 25, 12, 0, 0),
  ...extra,
});

function fakeView(): MembershipView & { leaves: number } {
  const members = [
    member('self', 'alive', { meta }),
    member('b', 'alive', { ip: '127.0.0.2', meta: new TextEncoder().encode('go meta') }),
    member('c', 'suspect', { ip: '127.0.0.3', incarnation: 4 }),
    member('d', 'dead', { ip: '127.0.0.4', meta: Uint8Array.of(0xff, 0x00) }),
    member('e', 'left', { ip: '127.0.0.5' }),
  ];
  const v = {
    leaves: 0,
    self: () => members[0] as MemberInfo,
    members: () => members,
    health: () => 2,
    async leave() {
      v.leaves++;
    },
  };
  return v;
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
function make(opts: { view?: MembershipView; host?: string; apiToken?: string } = {}) {
  const view = opts.view;
  const { app } = buildApp({
    logger: silentLogger(),
    checks: [],
    host: opts.host ?? '127.0.0.1',
    view: () => view,
    ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
  });
  apps.push(app);
  return app;
}

describe('legacy endpoints', () => {
  it('GET /info answers Name, IP, Port', async () => {
    const res = await make({ view: fakeView() }).inject({ method: 'GET', url: '/info' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ Name: 'self', IP: '127.0.0.1', Port: 8000 });
  });

  it('GET /members splits Active (alive, suspect) and Dead (dead, left)', async () => {
    const res = await make({ view: fakeView() }).inject({ method: 'GET', url: '/members' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      Active: [
        { Name: 'self', IP: '127.0.0.1', Port: 8000, State: 'alive' },
        { Name: 'b', IP: '127.0.0.2', Port: 8000, State: 'alive' },
        { Name: 'c', IP: '127.0.0.3', Port: 8000, State: 'suspect' },
      ],
      Dead: [
        { Name: 'd', IP: '127.0.0.4', Port: 8000, State: 'dead' },
        { Name: 'e', IP: '127.0.0.5', Port: 8000, State: 'left' },
      ],
    });
  });

  it('GET /status answers the health score', async () => {
    const res = await make({ view: fakeView() }).inject({ method: 'GET', url: '/status' });
    expect(res.json()).toEqual({ Name: 'Health Score', Score: 2 });
  });

  it.each(['/info', '/members', '/status', '/v1/members'])(
    '%s answers 503 before the node started',
    async (url) => {
      const res = await make().inject({ method: 'GET', url });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: { code: 'NOT_STARTED', message: 'membership node is starting' } });
    },
  );
});

describe('/v1', () => {
  it('GET /v1/members lists every state with incarnation, decoded meta and last change', async () => {
    const res = await make({ view: fakeView() }).inject({ method: 'GET', url: '/v1/members' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.self).toBe('self');
    expect(body.health).toBe(2);
    expect(body.members.map((m: { state: string }) => m.state)).toEqual([
      'alive',
      'alive',
      'suspect',
      'dead',
      'left',
    ]);
    expect(body.members[0]).toEqual({
      name: 'self',
      ip: '127.0.0.1',
      port: 8000,
      state: 'alive',
      incarnation: 1,
      meta: { v: 1, role: 'edge', ver: '0.1.0', labels: { arch: 'arm64' } },
      lastChange: '2026-11-25T12:00:00.000Z',
      self: true,
    });
    expect(body.members[1]).toMatchObject({ meta: null, metaRaw: 'go meta', self: false });
    expect(body.members[2]).toMatchObject({ incarnation: 4, meta: null });
    expect(body.members[2].metaRaw).toBeUndefined();
    expect(body.members[3]).toMatchObject({ meta: null, metaRaw: 'base64:/wA=' });
  });

  it('GET /v1/members?state= keeps the members in those states; a bad state is a 400', async () => {
    const app = make({ view: fakeView() });
    const res = await app.inject({ method: 'GET', url: '/v1/members?state=dead,left' });
    expect(res.statusCode).toBe(200);
    expect(res.json().members.map((m: { name: string }) => m.name)).toEqual(['d', 'e']);
    const bad = await app.inject({ method: 'GET', url: '/v1/members?state=gone' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_STATE');
  });

  it('shows departed members reaped from the table: /members Dead, /v1/members gone with declarer', async () => {
    const base = fakeView();
    const reaped = member('x', 'dead', { ip: '127.0.0.9', gone: true, declaredBy: 'go-1' });
    const view = { ...base, members: () => [...base.members(), reaped] };
    const app = make({ view });
    const legacy = (await app.inject({ method: 'GET', url: '/members' })).json();
    expect(legacy.Dead.map((m: { Name: string }) => m.Name)).toEqual(['d', 'e', 'x']);
    const v1 = (await app.inject({ method: 'GET', url: '/v1/members?state=dead' })).json();
    expect(v1.members[1]).toMatchObject({ name: 'x', state: 'dead', gone: true, declaredBy: 'go-1' });
    expect(v1.members[0].gone).toBeUndefined();
  });

  it('POST /v1/leave leaves on loopback without a token', async () => {
    const view = fakeView();
    const res = await make({ view }).inject({ method: 'POST', url: '/v1/leave' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'left', name: 'self' });
    expect(view.leaves).toBe(1);
  });

  it('POST /v1/leave off loopback needs the bearer token', async () => {
    const view = fakeView();
    const app = make({ view, host: '0.0.0.0', apiToken: 'a-token-of-16-chars!' });
    const none = await app.inject({ method: 'POST', url: '/v1/leave' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('UNAUTHORIZED');
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/leave',
      headers: { authorization: 'Bearer a-token-of-16-chars?' },
    });
    expect(wrong.statusCode).toBe(401);
    const basic = await app.inject({
      method: 'POST',
      url: '/v1/leave',
      headers: { authorization: 'Basic xyz' },
    });
    expect(basic.statusCode).toBe(401);
    expect(view.leaves).toBe(0);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/leave',
      headers: { authorization: 'Bearer a-token-of-16-chars!' },
    });
    expect(ok.statusCode).toBe(200);
    expect(view.leaves).toBe(1);
  });

  it('POST /v1/leave off loopback without a configured token is refused', async () => {
    const view = fakeView();
    const res = await make({ view, host: '0.0.0.0' }).inject({ method: 'POST', url: '/v1/leave' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_NOT_CONFIGURED');
    expect(view.leaves).toBe(0);
  });

  it('POST /v1/leave with a malformed JSON body is a 400, and nothing happens', async () => {
    const view = fakeView();
    const res = await make({ view }).inject({
      method: 'POST',
      url: '/v1/leave',
      headers: { 'content-type': 'application/json' },
      payload: '{"oops',
    });
    expect(res.statusCode).toBe(400);
    expect(view.leaves).toBe(0);
  });

  it('POST /v1/leave with an unsupported content type is a 415', async () => {
    const view = fakeView();
    const res = await make({ view }).inject({
      method: 'POST',
      url: '/v1/leave',
      headers: { 'content-type': 'application/x-weird' },
      payload: 'x',
    });
    expect(res.statusCode).toBe(415);
    expect(view.leaves).toBe(0);
  });

  it.each([
    ['GET', '/v1/leave', 404],
    ['POST', '/members', 404],
    ['DELETE', '/info', 404],
    ['GET', '/v1/members/x', 404],
    ['GET', '/nope', 404],
  ] as const)('%s %s → %i', async (method, url, status) => {
    const res = await make({ view: fakeView() }).inject({ method, url });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('keeps /healthz and /metrics from service-kit', async () => {
    const app = make({ view: fakeView() });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('/metrics', () => {
  it('counts members by state, the health score, and the driver counters', async () => {
    const registry = new Registry();
    const view = fakeView();
    const metrics = createGossipMetrics(registry, () => view);
    metrics.dropped.inc({ reason: 'crc' });
    metrics.probes.inc({ result: 'ack' });
    metrics.bytes.inc({ direction: 'out', transport: 'udp' }, 120);
    const { app } = buildApp({
      logger: silentLogger(),
      checks: [],
      host: '127.0.0.1',
      registry,
      view: () => view,
    });
    apps.push(app);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/gossip_members\{state="alive"\} 2/);
    expect(text).toMatch(/gossip_members\{state="suspect"\} 1/);
    expect(text).toMatch(/gossip_members\{state="dead"\} 1/);
    expect(text).toMatch(/gossip_members\{state="left"\} 1/);
    expect(text).toMatch(/gossip_health_score 2/);
    expect(text).toMatch(/gossip_dropped_packets_total\{reason="crc"\} 1/);
    expect(text).toMatch(/gossip_probes_total\{result="ack"\} 1/);
    expect(text).toMatch(/gossip_bytes_total\{direction="out",transport="udp"\} 120/);
  });

  it('reports zero members before the node started', async () => {
    const registry = new Registry();
    createGossipMetrics(registry, () => undefined);
    expect(await registry.metrics()).toMatch(/gossip_members\{state="alive"\} 0/);
  });
});
