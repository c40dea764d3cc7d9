// Live logs of one job: the job API's server-sent events (GET /v1/jobs/:id/logs?follow=1), through
// the proxy. Ends when the job API sends `end` (the job is finished); capped so a chatty job cannot
// exhaust the page.
import { byId } from './dom.js';

const MAX_CHARS = 200_000;

export function createLogs(): (jobId: string) => void {
  const section = byId('logs');
  const title = byId('logs-job');
  const text = byId('logs-text');
  const status = byId('logs-status');
  let es: EventSource | undefined;

  const stop = () => {
    es?.close();
    es = undefined;
  };
  byId('logs-close').addEventListener('click', () => {
    stop();
    section.hidden = true;
  });

  return (jobId) => {
    stop();
    section.hidden = false;
    title.textContent = jobId;
    text.textContent = '';
    status.textContent = 'following…';
    const url = new URL(`../v1/jobs/${encodeURIComponent(jobId)}/logs?follow=1`, document.baseURI);
    const source = new EventSource(url);
    es = source;
    source.addEventListener('chunk', (ev) => {
      const { stream, data } = JSON.parse((ev as MessageEvent<string>).data) as {
        stream: string;
        data: string;
      };
      let next = (text.textContent ?? '') + (stream === 'stderr' ? data.replace(/^/gm, '! ') : data);
      if (next.length > MAX_CHARS) next = `…\n${next.slice(-MAX_CHARS)}`;
      text.textContent = next;
      text.scrollTop = text.scrollHeight;
    });
    source.addEventListener('end', (ev) => {
      const { state } = JSON.parse((ev as MessageEvent<string>).data) as { state: string | null };
      status.textContent = `job ended: ${state ?? 'unknown'}`;
      stop();
    });
    source.addEventListener('error', () => {
      if (es !== source) return;
      status.textContent = 'the log stream is unavailable (job API unreachable or no such job)';
      stop();
    });
    section.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  };
}
