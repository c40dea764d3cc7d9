// The fleet: one tile per node (coloured by state) and the same nodes as a table. Re-rendered from the
// member map on every change; a few dozen nodes cost nothing to rebuild.
import { gpuText, ramText } from './device-facts.js';
import { h } from './dom.js';
import { ago, mib } from './format.js';
import type { Member, MemberState } from './types.js';

const ORDER: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

const address = (m: Member) => (m.ip.includes(':') ? `[${m.ip}]:${m.port}` : `${m.ip}:${m.port}`);

function labels(m: Member): string {
  const l = m.meta?.labels;
  if (!l) return m.metaRaw ? 'no edgefleet meta' : '–';
  return [l.arch, l.l4t ? `L4T ${l.l4t}` : undefined, l.gpu].filter(Boolean).join(' · ') || '–';
}

function load(m: Member): string {
  const l = m.meta?.load;
  if (!l) return '–';
  return `${l.running} running · ${l.queued} queued · ${mib(l.freeDiskMiB)} free`;
}

function sorted(members: Iterable<Member>): Member[] {
  return [...members].sort((a, b) => ORDER[a.state] - ORDER[b.state] || a.name.localeCompare(b.name));
}

export function summary(members: Iterable<Member>, health: number | undefined): string {
  const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  let n = 0;
  for (const m of members) {
    counts[m.state]++;
    n++;
  }
  const parts = (Object.keys(counts) as MemberState[])
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`);
  const nodes = `${n} node${n === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
  // Lifeguard's local health score: 0 is healthy; higher means this node itself is slow or lossy.
  if (health === undefined) return nodes;
  return `${nodes} · ${health === 0 ? 'this node healthy' : `this node's health score ${health} (slow or lossy)`}`;
}

function tile(m: Member, now: number): HTMLElement {
  const changed = Date.parse(m.lastChange);
  return h(
    'article',
    {
      class: `tile state-${m.state}`,
      'data-node': m.name,
      'data-state': m.state,
      'aria-label': `${m.name}: ${m.state}`,
    },
    h(
      'div',
      { class: 'tile-head' },
      h('span', { class: 'tile-name', title: m.name }, m.name),
      m.self ? h('span', { class: 'you' }, 'this node') : null,
    ),
    h(
      'div',
      { class: 'tile-state' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      m.state,
      h('span', { class: 'tile-role' }, m.meta?.role ?? ''),
    ),
    h('div', { class: 'tile-line mono', title: address(m) }, address(m)),
    h('div', { class: 'tile-line' }, labels(m)),
    m.meta?.labels.board
      ? h('div', { class: 'tile-line tile-board', title: m.meta.labels.board }, m.meta.labels.board)
      : null,
    gpuText(m.meta?.hw) ? h('div', { class: 'tile-line tile-hw' }, gpuText(m.meta?.hw) as string) : null,
    ramText(m.meta?.hw) ? h('div', { class: 'tile-line tile-ram' }, ramText(m.meta?.hw) as string) : null,
    m.meta?.load
      ? h('div', { class: 'tile-line' }, `${m.meta.load.running} running · ${m.meta.load.queued} queued`)
      : null,
    m.meta?.load ? h('div', { class: 'tile-line' }, `${mib(m.meta.load.freeDiskMiB)} disk free`) : null,
    h(
      'div',
      { class: 'tile-line tile-since', 'data-since': String(changed) },
      `changed ${ago(changed, now)}`,
    ),
    m.forgotten ? h('div', { class: 'tile-line' }, 'no longer in the member list') : null,
  );
}

function row(m: Member, now: number): HTMLTableRowElement {
  const changed = Date.parse(m.lastChange);
  return h(
    'tr',
    { 'data-node': m.name, 'data-state': m.state },
    h(
      'td',
      {},
      h('span', { class: 'cell-name' }, m.name),
      m.self ? h('span', { class: 'you' }, 'this node') : null,
    ),
    h('td', {}, h('span', { class: `badge state-${m.state}` }, m.state)),
    h('td', { class: 'opt' }, m.meta?.role ?? '–'),
    h('td', { class: 'mono opt' }, address(m)),
    h('td', { class: 'opt' }, labels(m)),
    h('td', {}, load(m)),
    h('td', { class: 'opt' }, m.meta?.ver ?? '–'),
    h('td', { class: 'num opt' }, m.incarnation),
    h(
      'td',
      { title: m.lastChange },
      h('span', { class: 'since', 'data-since': String(changed) }, ago(changed, now)),
    ),
  );
}

export function renderFleet(
  tiles: HTMLElement,
  tbody: HTMLElement,
  members: Iterable<Member>,
  now: number,
): void {
  const list = sorted(members);
  tiles.replaceChildren(...list.map((m) => tile(m, now)));
  tbody.replaceChildren(...list.map((m) => row(m, now)));
}

/** Refreshes the "… ago" texts without rebuilding anything else. */
export function refreshTimes(root: ParentNode, now: number): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-since]')) {
    const at = Number(el.dataset.since);
    el.textContent = el.classList.contains('tile-since') ? `changed ${ago(at, now)}` : ago(at, now);
  }
}
