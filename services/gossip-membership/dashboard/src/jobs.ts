// The jobs of the node being viewed, read from the job API through the membership service's proxy
// (/v1/jobs). The job API has no change stream for its list, so the list is re-read: every 2 s while a
// job is active or the API is unreachable, every 5 s otherwise, and at once when the
// node's meta says its load changed (a job started or ended). A 401 from the job API shows a field for
// its token (see api-token.ts); once entered, the list is re-read with it.
import { apiToken, jobApiHeaders, setApiToken } from './api-token.js';
import { byId, h, setBanner } from './dom.js';
import { ago, duration } from './format.js';
import type { ApiError, JobList, JobRecordView, JobSummary } from './types.js';
import { TERMINAL } from './types.js';

const ACTIVE_MS = 2_000;
const IDLE_MS = 5_000;
const LIMIT = 25;

export interface JobsView {
  /** Re-read now (e.g. the node's load changed). */
  refresh(): void;
  /** Re-computes the running jobs' durations. */
  tick(now: number): void;
}

const api = (path: string) => new URL(`../v1/${path}`, document.baseURI).toString();
const jobUrl = (id: string) => api(`jobs/${encodeURIComponent(id)}`);

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as Partial<ApiError>;
    if (body.error) return `${body.error.code}: ${body.error.message}`;
  } catch {}
  return `HTTP ${res.status}`;
}

export function startJobs(openLogs: (jobId: string) => void): JobsView {
  const tbody = byId('jobs').querySelector('tbody') as HTMLTableSectionElement;
  const banner = byId('jobs-banner');
  const empty = byId('jobs-empty');
  const summaryEl = byId('jobs-summary');
  const tokenForm = byId<HTMLFormElement>('jobs-token');
  const tokenInput = byId<HTMLInputElement>('jobs-token-input');
  let jobs: JobSummary[] = [];
  const results = new Map<string, JobRecordView>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let loading = false;
  let failing = false;

  function endOf(j: JobSummary, now: number): number {
    return TERMINAL.has(j.state) ? (j.updatedAt ?? j.createdAt) : now;
  }

  function resultCell(j: JobSummary): HTMLElement {
    const links = h(
      'div',
      { class: 'links' },
      h('button', { type: 'button', class: 'link', 'data-logs': j.jobId }, 'logs'),
      h('a', { href: jobUrl(j.jobId), target: '_blank', rel: 'noopener' }, 'record'),
    );
    const r = results.get(j.jobId);
    if (r?.resultUri)
      links.append(h('span', { class: 'mono result', title: 'result location' }, r.resultUri));
    if (r && r.exitCode !== undefined && r.exitCode !== null)
      links.append(h('span', { class: 'muted' }, `exit ${r.exitCode}`));
    return h('td', {}, links);
  }

  function render(now: number): void {
    empty.hidden = jobs.length > 0 || failing;
    const active = jobs.filter((j) => !TERMINAL.has(j.state)).length;
    summaryEl.textContent = jobs.length ? `${jobs.length} recent, ${active} active` : '';
    tbody.replaceChildren(
      ...jobs.map((j) =>
        h(
          'tr',
          { 'data-job': j.jobId, 'data-state': j.state },
          h('td', { class: 'mono' }, j.jobId),
          h(
            'td',
            { title: j.reason ?? '' },
            h('span', { class: `badge job-${j.state.toLowerCase()}` }, j.state),
            j.reason ? h('span', { class: 'muted' }, ` ${j.reason}`) : null,
          ),
          h(
            'td',
            {
              class: 'num',
              'data-start': String(j.createdAt),
              'data-end': TERMINAL.has(j.state) ? String(endOf(j, now)) : undefined,
            },
            duration(endOf(j, now) - j.createdAt),
          ),
          h(
            'td',
            { class: 'opt' },
            h(
              'span',
              { class: 'since', 'data-since': String(j.updatedAt ?? j.createdAt) },
              ago(j.updatedAt ?? j.createdAt, now),
            ),
          ),
          resultCell(j),
        ),
      ),
    );
  }

  /** The record of each finished job, once: it carries the result location and exit code. */
  async function fetchResults(): Promise<void> {
    const missing = jobs.filter((j) => TERMINAL.has(j.state) && !results.has(j.jobId)).slice(0, 5);
    for (const j of missing) {
      try {
        const res = await fetch(jobUrl(j.jobId), { headers: jobApiHeaders('application/json') });
        if (res.ok) results.set(j.jobId, (await res.json()) as JobRecordView);
      } catch {}
    }
    if (missing.length) render(Date.now());
  }

  async function load(): Promise<void> {
    if (loading) return;
    loading = true;
    clearTimeout(timer);
    try {
      const sent = apiToken();
      const res = await fetch(api(`jobs?limit=${LIMIT}`), { headers: jobApiHeaders('application/json') });
      if (res.status === 401) {
        // A token that no longer works (wrong, or the node made a new one) is forgotten.
        if (sent !== undefined && apiToken() === sent) setApiToken(undefined);
        askForToken(sent !== undefined);
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
      jobs = ((await res.json()) as JobList).jobs;
      failing = false;
      tokenForm.hidden = true;
      setBanner(banner, undefined);
      render(Date.now());
      void fetchResults();
    } catch (e) {
      failing = true;
      const msg = e instanceof TypeError ? 'the node did not answer' : (e as Error).message;
      setBanner(
        banner,
        `Job API unavailable (${msg}). Retrying every ${ACTIVE_MS / 1000} s; the list below may be stale.`,
      );
      render(Date.now());
    } finally {
      loading = false;
      const active = failing || jobs.some((j) => !TERMINAL.has(j.state));
      timer = setTimeout(() => void load(), active ? ACTIVE_MS : IDLE_MS);
    }
  }

  function askForToken(rejected: boolean): void {
    failing = true;
    jobs = [];
    setBanner(
      banner,
      rejected
        ? 'The job API refused the API token (401). Enter the current one.'
        : "The job API asks for its API token (401). Enter it to see this node's jobs.",
      'auth',
    );
    tokenForm.hidden = false;
    render(Date.now());
  }

  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = tokenInput.value.trim();
    if (!token) return;
    setApiToken(token);
    tokenInput.value = '';
    tokenForm.hidden = true;
    void load();
  });

  tbody.addEventListener('click', (ev) => {
    const id = (ev.target as HTMLElement).closest<HTMLElement>('[data-logs]')?.dataset.logs;
    if (id) openLogs(id);
  });
  void load();
  function tick(now: number): void {
    for (const cell of tbody.querySelectorAll<HTMLElement>('[data-start]'))
      cell.textContent = duration(Number(cell.dataset.end ?? now) - Number(cell.dataset.start));
  }

  return { refresh: () => void load(), tick };
}
