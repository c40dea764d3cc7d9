// The "gone" section: nodes that died or left and that the member table has already reaped, as the
// serving node's departed record still lists them (for EDGEFLEET_GOSSIP_DEAD_RETENTION), newest
// first, each with how long it has been gone and who declared it.
import { h } from './dom.js';
import { ago } from './format.js';
import type { Member } from './types.js';

const address = (m: Member) => (m.ip.includes(':') ? `[${m.ip}]:${m.port}` : `${m.ip}:${m.port}`);

export function renderGone(
  section: HTMLElement,
  tbody: HTMLElement,
  gone: readonly Member[],
  now: number,
): void {
  section.hidden = gone.length === 0;
  const list = [...gone].sort((a, b) => Date.parse(b.lastChange) - Date.parse(a.lastChange));
  tbody.replaceChildren(
    ...list.map((m) => {
      const since = Date.parse(m.lastChange);
      return h(
        'tr',
        { 'data-node': m.name, 'data-state': m.state },
        h('td', {}, h('span', { class: 'cell-name' }, m.name)),
        h('td', {}, h('span', { class: `badge state-${m.state}` }, m.state)),
        h('td', { class: 'mono opt' }, address(m)),
        h(
          'td',
          { title: m.lastChange },
          h('span', { class: 'since', 'data-since': String(since) }, ago(since, now)),
        ),
        h('td', { class: 'opt' }, m.declaredBy ?? '–'),
      );
    }),
  );
}
