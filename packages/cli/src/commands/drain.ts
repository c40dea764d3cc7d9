// `edgefleet drain`: tells a job-executor to stop taking jobs, let the running ones finish for up to
// --wait seconds and hand back the rest (contracts' drain.ts). Run where the executor's port is
// reachable: in its container (`docker compose exec job-executor edgefleet drain`), or on the host of
// a local node.
import { DrainResult } from '@edgefleet/contracts';
import { call } from '../api.js';
import { CliError, EXIT } from '../errors.js';

/** The executor's API inside its container or on a local node's host (its default port). */
export const DEFAULT_EXECUTOR_URL = 'http://127.0.0.1:4101';

export async function drainExecutor(url: string, waitSeconds: number, token?: string): Promise<DrainResult> {
  const body = await call<unknown>(url, 'v1/drain', {
    method: 'POST',
    body: JSON.stringify({ waitSeconds }),
    ...(token ? { token } : {}),
    // The executor answers when the wait is over: allow it, plus the hand-back (kill grace) and a margin.
    signal: AbortSignal.timeout((waitSeconds + 60) * 1000),
  });
  const parsed = DrainResult.safeParse(body);
  if (!parsed.success)
    throw new CliError(`unexpected answer from ${url}: ${JSON.stringify(body)}`, EXIT.failure);
  return parsed.data;
}
