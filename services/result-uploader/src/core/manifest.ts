// The manifest of an upload (contracts' ResultManifestV1), built from what was uploaded.
import {
  MANIFEST_VERSION,
  type ManifestFile,
  type ResultManifest,
  type ResultsEntry,
  type SkippedFile,
  type TerminalState,
} from '@edgefleet/contracts';
import type { ResultLocation } from './keys.js';
import type { FinalOutcome } from './outcome.js';

export interface ManifestInput {
  entry: ResultsEntry;
  outcome: FinalOutcome & { state: TerminalState };
  node: string;
  location: ResultLocation;
  files: ManifestFile[];
  skipped: SkippedFile[];
  uploadMs: number;
  createdAt: number;
  labels?: Record<string, string> | undefined;
}

export function buildManifest(m: ManifestInput): ResultManifest {
  const files = [...m.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    version: MANIFEST_VERSION,
    jobId: m.entry.jobId,
    state: m.outcome.state,
    ...(m.outcome.reason ? { reason: m.outcome.reason } : {}),
    ...(m.outcome.detail ? { detail: m.outcome.detail.slice(0, 4096) } : {}),
    exitCode: m.entry.exitCode ?? null,
    ...(m.entry.signal ? { signal: m.entry.signal } : {}),
    node: m.node,
    attempt: m.entry.attempt,
    timings: { ...m.entry.timings, uploadMs: m.uploadMs },
    bucket: m.location.bucket,
    location: m.location.uri,
    createdAt: m.createdAt,
    files,
    skipped: m.skipped,
    totalBytes: files.reduce((n, f) => n + f.size, 0),
    ...(m.labels ? { labels: m.labels } : {}),
  };
}
