// Live logs of one job: the job API's server-sent events (GET /v1/jobs/:id/logs?follow=1), through
// the proxy. Read with fetch rather than EventSource, which cannot send the Authorization header the
// job API asks for (api-token.ts). Ends when the job API sends `end` (the job is finished); capped so
// a chatty job cannot exhaust the page.
import { jobApiHeaders } from './api-token.js';
import { byId } from './dom.js';

const MAX_CHARS = 200_000;

/** One server-sent event: its `event:` name (default "message") and its `data:` lines joined. */
interface SseEvent {
  event: string;
  data: string;
}

/** Splits a buffer of event-stream text into complete events and the unfinished rest
 * (the WHATWG HTML "event stream interpretation": blank line ends an event, `:` starts a comment). */
function parseEvents(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export function createLogs(): (jobId: string) => void {
  const section = byId('logs');
  const title = byId('logs-job');
  const text = byId('logs-text');
  const status = byId('logs-status');
  let current: AbortController | undefined;

  const stop = () => {
    current?.abort();
    current = undefined;
  };
  byId('logs-close').addEventListener('click', () => {
    stop();
    section.hidden = true;
  });

  function append(stream: string, data: string): void {
    let next = (text.textContent ?? '') + (stream === 'stderr' ? data.replace(/^/gm, '! ') : data);
    if (next.length > MAX_CHARS) next = `…\n${next.slice(-MAX_CHARS)}`;
    text.textContent = next;
    text.scrollTop = text.scrollHeight;
  }

  async function follow(jobId: string, ac: AbortController): Promise<void> {
    const url = new URL(`../v1/jobs/${encodeURIComponent(jobId)}/logs?follow=1`, document.baseURI);
    const res = await fetch(url, { headers: jobApiHeaders('text/event-stream'), signal: ac.signal });
    if (res.status === 401) {
      status.textContent = 'the job API asks for its API token: enter it in the jobs panel';
      return;
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      for (const ev of parsed.events) {
        if (ev.event === 'chunk') {
          const { stream, data } = JSON.parse(ev.data) as { stream: string; data: string };
          append(stream, data);
        } else if (ev.event === 'end') {
          const { state } = JSON.parse(ev.data) as { state: string | null };
          status.textContent = `job ended: ${state ?? 'unknown'}`;
          ac.abort();
          return;
        }
      }
    }
    throw new Error('the stream ended early');
  }

  return (jobId) => {
    stop();
    section.hidden = false;
    title.textContent = jobId;
    text.textContent = '';
    status.textContent = 'following…';
    const ac = new AbortController();
    current = ac;
    follow(jobId, ac)
      .catch(() => {
        if (ac.signal.aborted) return;
        status.textContent = 'the log stream is unavailable (job API unreachable or no such job)';
      })
      .finally(() => {
        if (current === ac) current = undefined;
      });
    section.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  };
}
