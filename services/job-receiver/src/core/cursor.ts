// The job list's paging cursor: the (createdAt, jobId) of the last job returned, as base64url text.
// The index orders by createdAt descending, then jobId descending (a zset's reverse order), so the next
// page starts strictly after that pair.
import { JobId } from '@edgefleet/contracts';

export interface ListCursor {
  score: number;
  jobId: string;
}

export const encodeCursor = (c: ListCursor): string =>
  Buffer.from(`${c.score}:${c.jobId}`, 'utf8').toString('base64url');

export function decodeCursor(text: string): ListCursor | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  const raw = Buffer.from(text, 'base64url').toString('utf8');
  const m = /^(\d{1,16}):(.+)$/.exec(raw);
  if (!m) return null;
  const jobId = m[2] as string;
  if (!JobId.safeParse(jobId).success) return null;
  return { score: Number(m[1]), jobId };
}

/** True when (score, jobId) comes after the cursor in the list's order. */
export const isAfter = (c: ListCursor, score: number, jobId: string): boolean =>
  score < c.score || (score === c.score && jobId < c.jobId);
