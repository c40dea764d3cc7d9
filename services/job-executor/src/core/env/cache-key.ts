// The environment cache key: one sha256 over everything that decides what a virtualenv contains.
//
// key = sha256(JSON of { format, interpreter, platform, requirements (canonical text), shipped files
// (workspace-relative path + sha256, sorted), options }). Any input that changes what pip would
// install must be here, and nothing that does not (the workspace's absolute path, the job id, the
// time): two jobs with the same inputs share one environment. `format` is bumped whenever the layout
// of a cached environment changes, which orphans old entries (eviction then reclaims them).
import { createHash } from 'node:crypto';

const KEY_FORMAT = 1;
/** Hex characters of the key used as the directory name (64 = the whole sha256). */
export const KEY_LENGTH = 32;

export interface InterpreterIdentity {
  /** Absolute path as configured (e.g. /usr/bin/python3). */
  path: string;
  /** Resolved real path (/usr/bin/python3.11): a distro upgrade changes it. */
  realPath: string;
  /** `sys.version` (full, with build info). */
  version: string;
  /** `sysconfig.get_platform()` + implementation cache tag, e.g. `linux-aarch64 cpython-311`. */
  platformTag: string;
}

export interface InstallOptions {
  indexUrl?: string | undefined;
  extraIndexUrls: string[];
  noIndex: boolean;
  findLinks: string[];
  systemSitePackages: boolean;
  /** The venv has its own pip (ensurepip) or is driven by the host's pip. */
  seedPip: boolean;
  onlyBinary: boolean;
}

export interface KeyInput {
  interpreter: InterpreterIdentity;
  /** Node's `${process.platform}-${process.arch}` of the device. */
  platform: string;
  /** Canonical requirements (see requirements.ts keyText), '' for "no install step". */
  requirements: string;
  /** Hashes of wheels/sdists shipped in the workspace and of local paths named by requirements. */
  files: { path: string; sha256: string }[];
  options: InstallOptions;
}

/** Canonical JSON: keys sorted at every level, so property order never changes the key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The cache key (hex, KEY_LENGTH characters). */
export function computeKey(input: KeyInput): string {
  const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const doc = canonicalJson({ format: KEY_FORMAT, ...input, files });
  return createHash('sha256').update(doc).digest('hex').slice(0, KEY_LENGTH);
}

/** True when `name` could be a key (a directory name in the cache made by computeKey). */
export const isKey = (name: string) => new RegExp(`^[0-9a-f]{${KEY_LENGTH}}$`).test(name);
