// HTTP calls to a node's job API (job-receiver, :4100) and membership API (gossip-membership, :4001).
// Every failure becomes one CliError line: unreachable node, not found, refused.
import type { ErrorResponse } from '@edgefleet/contracts';
import { CliError, EXIT } from './errors.js';

export interface Endpoints {
  jobApi: string;
  membersApi: string;
  token?: string;
}

export async function call<T>(
  base: string,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<T> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
      signal: init.signal ?? AbortSignal.timeout(15_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new CliError(
      `cannot reach ${new URL(base).origin} (${cause}): is the node running?`,
      EXIT.unreachable,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const err = (body as Partial<ErrorResponse> | undefined)?.error;
    const msg = err ? `${err.code}: ${err.message}` : `HTTP ${res.status}`;
    throw new CliError(
      msg,
      res.status === 404 ? EXIT.notFound : res.status === 401 ? EXIT.usage : EXIT.failure,
    );
  }
  return body as T;
}
