// The job API's bearer token, as the operator typed it into the page. The membership service's proxy
// passes the browser's Authorization header through and never adds one itself (job code can reach the
// proxy on loopback), so a job API that requires the token (local mode, the compose file) answers 401
// until the page sends it.
// Kept in sessionStorage, not localStorage: the token opens the whole job API, so it lives only as long
// as the tab (closing it forgets the token, nothing stays behind on a shared laptop or phone), while a
// reload or navigation within the tab keeps it.
const KEY = 'edgefleet.apiToken';

export function apiToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) || undefined;
  } catch {
    return undefined;
  }
}

export function setApiToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {}
}

/** Request headers for the job API: `accept` plus the Authorization header when a token is known. */
export function jobApiHeaders(accept: string): Record<string, string> {
  const token = apiToken();
  return token ? { accept, authorization: `Bearer ${token}` } : { accept };
}
