// Which node the CLI talks to, and how: a pure decision from the flags, the environment and local
// mode's client file (client-file.ts). Order for each setting: flag, then variable, then the client
// file, then the defaults of a local node on its standard ports. The API token from the client file
// is sent only to the job API that file names, never to an address given by a flag or variable.
import type { ClientFile } from './client-file.js';

const DEFAULT_JOB_API = 'http://127.0.0.1:4100';
const DEFAULT_MEMBERS_API = 'http://127.0.0.1:4001';

export interface TargetInput {
  apiFlag?: string | undefined;
  membersFlag?: string | undefined;
  env: NodeJS.ProcessEnv;
  client?: { path: string; file: ClientFile; apiToken?: string | undefined } | undefined;
}

export interface Target {
  jobApi: string;
  membersApi: string;
  token?: string;
  /** One line for the user: which node, and where that came from. */
  describe: string;
  /** The job API came from the client file. */
  fromClientFile: boolean;
}

export function resolveTarget(i: TargetInput): Target {
  const c = i.client;
  const jobApiFrom = i.apiFlag
    ? '--api'
    : i.env.EDGEFLEET_API_URL
      ? 'EDGEFLEET_API_URL'
      : c
        ? c.path
        : 'default';
  const jobApi = i.apiFlag ?? i.env.EDGEFLEET_API_URL ?? c?.file.jobApiUrl ?? DEFAULT_JOB_API;
  const membersApi =
    i.membersFlag ?? i.env.EDGEFLEET_MEMBERS_API_URL ?? c?.file.membersApiUrl ?? DEFAULT_MEMBERS_API;
  const token = i.env.EDGEFLEET_API_TOKEN ?? (c && jobApi === c.file.jobApiUrl ? c.apiToken : undefined);
  const describe =
    c && jobApiFrom === c.path
      ? `node ${c.file.node}: job API ${jobApi}, members API ${membersApi} (from ${c.path})`
      : `job API ${jobApi} (${jobApiFrom}), members API ${membersApi}`;
  return {
    jobApi,
    membersApi,
    ...(token ? { token } : {}),
    describe,
    fromClientFile: c !== undefined && jobApiFrom === c.path,
  };
}
