// The fleet dashboard: the member table of the node serving this page, live from its event stream
// (GET /v1/members/events), and that node's jobs. Everything is read from the serving node's own
// origin; nothing is loaded from elsewhere.
import './style.css';
import { byId, setBanner } from './dom.js';
import { refreshTimes, renderFleet, summary } from './fleet.js';
import { renderGone } from './gone.js';
import { startJobs } from './jobs.js';
import { createLogs } from './logs.js';
import type { Member, MembersBody } from './types.js';

const members = new Map<string, Member>();
const tiles = byId('tiles');
const tbody = byId('members').querySelector('tbody') as HTMLTableSectionElement;
const banner = byId('banner');
const live = byId('live');
let selfLoad = '';
let health: number | undefined;

const jobs = startJobs(createLogs());

function render(): void {
  const all = [...members.values()];
  const fleet = all.filter((m) => !m.gone);
  renderFleet(tiles, tbody, fleet, Date.now());
  byId('summary').textContent = summary(fleet, health);
  renderGone(
    byId('gone'),
    byId('gone-members').querySelector('tbody') as HTMLElement,
    all.filter((m) => m.gone),
    Date.now(),
  );
}

function setLive(state: 'live' | 'connecting' | 'lost'): void {
  live.dataset.live = state;
  live.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'disconnected';
  document.body.classList.toggle('stale', state === 'lost');
}

/** A change of the viewed node's load means a job started, finished or was queued: re-read the jobs. */
function watchSelf(m: Member): void {
  if (!m.self) return;
  const load = JSON.stringify(m.meta?.load ?? null);
  if (selfLoad && load !== selfLoad) jobs.refresh();
  selfLoad = load;
}

const EVENTS_URL = new URL('../v1/members/events', document.baseURI);
let lostSince: number | undefined;

function connect(): void {
  const es = new EventSource(EVENTS_URL);
  es.addEventListener('snapshot', (ev) => {
    const body = JSON.parse((ev as MessageEvent<string>).data) as MembersBody;
    members.clear();
    for (const m of body.members) members.set(m.name, m);
    byId('self-name').textContent = body.self;
    byId('jobs-title').textContent = `Jobs on ${body.self}`;
    health = body.health;
    document.title = `${body.self} · edgefleet`;
    const self = body.members.find((m) => m.self);
    if (self) watchSelf(self);
    lostSince = undefined;
    setBanner(banner, undefined);
    setLive('live');
    render();
  });
  es.addEventListener('member', (ev) => {
    const m = JSON.parse((ev as MessageEvent<string>).data) as Member;
    members.set(m.name, m);
    watchSelf(m);
    render();
  });
  // A reaped node (dead or left long enough) stays on screen as last seen until the page reloads.
  es.addEventListener('health', (ev) => {
    health = (JSON.parse((ev as MessageEvent<string>).data) as { health: number }).health;
    render();
  });
  es.addEventListener('removed', (ev) => {
    const m = members.get((JSON.parse((ev as MessageEvent<string>).data) as { name: string }).name);
    if (m) m.forgotten = true;
    render();
  });
  es.addEventListener('error', () => {
    lostSince ??= Date.now();
    setLive('lost');
    setBanner(
      banner,
      `Lost the live connection to this node's membership API (since ${new Date(lostSince).toLocaleTimeString()}). ` +
        'Reconnecting…; the fleet shown below may be out of date.',
    );
    // The browser retries a dropped stream by itself; an answer that is not a stream (a 502 from a
    // proxy, a 503 while the node starts) closes it for good, so start a new one.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3_000);
  });
}

connect();
setInterval(() => {
  const now = Date.now();
  refreshTimes(document, now);
  jobs.tick(now);
}, 1_000);
