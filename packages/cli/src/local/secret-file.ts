// Secrets local mode generates once and keeps in its data folder (the Redis password, the API token,
// the webhook signing secret): one file each, mode 0600, owned by whoever runs local mode, so a restarted
// node keeps them and job code (another user) cannot read them. A file that exists is reused, and its
// mode is put back to 0600 if someone widened it.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Names of the files in the data folder. */
export const SECRET_FILES = {
  redisPassword: 'redis-password',
  apiToken: 'api-token',
  webhookSecret: 'webhook-secret',
} as const;

/** The secret in <dataDir>/<name>, created (24 random bytes as hex, 48 characters) when missing. */
export function secretFile(dataDir: string, name: string): { path: string; value: string } {
  const path = join(dataDir, name);
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const value = readFileSync(path, 'utf8').trim();
    if (value.length >= 16) return { path, value };
  }
  const value = randomBytes(24).toString('hex');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { path, value };
}
