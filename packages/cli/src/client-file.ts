// The client file: what a CLI needs to talk to a local node, written by local mode to
// <dataDir>/client.json (mode 0644: it holds addresses and the paths of the secret files, never a
// secret). The CLI reads it when neither a flag nor a variable says more (client-target.ts), so a node
// started on other ports (EDGEFLEET_LOCAL_*_PORT) is used without exporting anything.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const CLIENT_FILE = 'client.json';

export const ClientFile = z.object({
  version: z.literal(1),
  node: z.string(),
  jobApiUrl: z.string().url(),
  membersApiUrl: z.string().url(),
  /** File holding the job API's bearer token; null when the node was given EDGEFLEET_API_TOKEN. */
  apiTokenFile: z.string().nullable(),
  aws: z.object({
    /** S3/SQS endpoint (local mode's emulator); null = the SDK's default (real AWS). */
    endpoint: z.string().url().nullable(),
    /** The emulator's fixed credentials; null = the SDK's default chain. */
    credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }).nullable(),
    region: z.string(),
    queueUrl: z.string(),
    jobsBucket: z.string(),
    resultsUri: z.string(),
  }),
  redis: z.object({
    url: z.string(),
    /** File holding the Redis password; null when the node was given EDGEFLEET_REDIS_URL. */
    passwordFile: z.string().nullable(),
  }),
});
export type ClientFile = z.infer<typeof ClientFile>;

/** Writes <dataDir>/client.json atomically. */
export function writeClientFile(dataDir: string, content: ClientFile): string {
  const file = join(dataDir, CLIENT_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Where the CLI looks: <EDGEFLEET_DATA_DIR>/client.json, else ./.data/client.json (local mode's default). */
export function clientFilePath(env: NodeJS.ProcessEnv, cwd: string): string {
  return join(resolve(cwd, env.EDGEFLEET_DATA_DIR ?? '.data'), CLIENT_FILE);
}

export type ClientFileRead =
  | { kind: 'none'; path: string }
  | { kind: 'ok'; path: string; file: ClientFile }
  | { kind: 'bad'; path: string; problem: string };

export function readClientFile(path: string): ClientFileRead {
  if (!existsSync(path)) return { kind: 'none', path };
  try {
    const parsed = ClientFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (parsed.success) return { kind: 'ok', path, file: parsed.data };
    return { kind: 'bad', path, problem: parsed.error.issues.map((i) => i.path.join('.')).join(', ') };
  } catch (e) {
    return { kind: 'bad', path, problem: (e as Error).message };
  }
}

/** The first line of a secret file, or undefined when it cannot be read (another user's node). */
export function readSecret(path: string | null): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
