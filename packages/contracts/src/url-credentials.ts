// Credentials carried in URLs (`https://user:token@index.example/simple`, `redis://:password@host`,
// `?token=…` / `X-Amz-Signature=…` in a query) masked in any text, before it is logged or uploaded.
// One function for every service and the CLI, so that a URL is masked the same way everywhere.
//
// The user-info part is replaced whole (`scheme://***@host`): an index token is as often the user name
// as the password. The user-info ends at the last `@` before the path, so a password holding a raw `@`
// is masked whole too. In a query, the value of every parameter whose name looks like a credential is
// replaced.

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#'"<>]*@/gi;
const SECRET_PARAM =
  /([?&;][^=&\s#'"<>]*(?:token|secret|passw(?:or)?d|pwd|signature|credential|api[-_]?key|access[-_]?key|auth)[^=&\s#'"<>]*=)[^&\s#'"<>]*/gi;

/** The mask put in place of a credential. */
export const MASK = '***';

/** `text` with the credentials of every URL in it masked. Text without URLs is returned unchanged. */
export function maskUrlCredentials(text: string): string {
  if (!text.includes('://') && !/[?&;]/.test(text)) return text;
  return text.replace(USERINFO, `$1${MASK}@`).replace(SECRET_PARAM, `$1${MASK}`);
}
