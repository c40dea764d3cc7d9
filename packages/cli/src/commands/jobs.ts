// Job commands over the node's job API: list, show, logs (optionally followed), cancel, and waiting
// for a job to end.
import {
  isTerminal,
  type JobList,
  type JobRecord,
  type JobSubmitResponse,
  type JobSummary,
  type LogFollowChunk,
  type LogTailResponse,
} from '@edgefleet/contracts';
import { call, type Endpoints } from '../api.js';

/** Every job API route needs the token when the node has one (records can hold job env values). */
const auth = (ep: Endpoints) => (ep.token ? { token: ep.token } : {});

export async function getJob(ep: Endpoints, id: string): Promise<JobRecord> {
  return call<JobRecord>(ep.jobApi, `v1/jobs/${encodeURIComponent(id)}`, auth(ep));
}

export async function listJobs(ep: Endpoints, state?: string, limit = 50): Promise<JobSummary[]> {
  const q = new URLSearchParams({ limit: String(limit), ...(state ? { state } : {}) });
  return (await call<JobList>(ep.jobApi, `v1/jobs?${q}`, auth(ep))).jobs;
}

export async function cancelJob(ep: Endpoints, id: string): Promise<JobSubmitResponse> {
  return call<JobSubmitResponse>(ep.jobApi, `v1/jobs/${encodeURIComponent(id)}/cancel`, {
    method: 'POST',
    body: '{}',
    ...auth(ep),
  });
}

/** Reads the live tail; with follow, prints chunks as server-sent events arrive until the job ends. */
export async function streamLogs(
  ep: Endpoints,
  id: string,
  follow: boolean,
  write: (s: string) => void,
): Promise<void> {
  const url = new URL(
    `v1/jobs/${encodeURIComponent(id)}/logs${follow ? '?follow=1' : ''}`,
    ep.jobApi.endsWith('/') ? ep.jobApi : `${ep.jobApi}/`,
  );
  const res = await fetch(url, {
    headers: { accept: follow ? 'text/event-stream' : 'application/json' },
  }).catch(() => undefined);
  if (!res) {
    await call(ep.jobApi, 'healthz'); // throws the standard "cannot reach" error
    return;
  }
  if (!res.ok) {
    await call(ep.jobApi, url.pathname.slice(1), auth(ep)); // same path: throws the coded error
    return;
  }
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('text/event-stream')) {
    for (const c of ((await res.json()) as LogTailResponse).chunks) write(c.data);
    return;
  }
  const decoder = new TextDecoder();
  let buf = '';
  for await (const part of res.body as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(part, { stream: true });
    let sep = buf.indexOf('\n\n');
    while (sep >= 0) {
      const event = buf.slice(0, sep);
      buf = buf.slice(sep + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) {
        try {
          const parsed = JSON.parse(data) as Partial<LogFollowChunk>;
          if (typeof parsed.data === 'string') write(parsed.data);
        } catch {
          write(`${data}\n`);
        }
      }
      sep = buf.indexOf('\n\n');
    }
  }
}

/** Polls until the job is terminal, reporting each new state once. `timeoutMs` bounds the wait. */
export async function waitForEnd(
  ep: Endpoints,
  id: string,
  onState: (r: JobRecord) => void,
  timeoutMs: number,
): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let rec: JobRecord | undefined;
    try {
      rec = await getJob(ep, id);
    } catch (e) {
      // The message may still be in SQS: the record appears when the receiver takes it.
      if ((e as { exitCode?: number }).exitCode !== 3) throw e;
    }
    if (rec) {
      if (rec.state !== last) {
        last = rec.state;
        onState(rec);
      }
      if (isTerminal(rec.state) && rec.notifyStatus !== 'pending') return rec;
    }
    if (Date.now() > deadline)
      throw new Error(
        `job ${id} did not end within ${Math.round(timeoutMs / 1000)} s (last state ${last || 'not yet received'})`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}
