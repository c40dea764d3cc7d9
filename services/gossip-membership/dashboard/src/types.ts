// The JSON this page reads: GET /v1/members (and the /v1/members/events stream) of the node serving
// it, and the job API's list and record (proxied under /v1/jobs). Node meta and job states come from
// the contracts package, the job API's shapes included (types only: nothing of it is bundled).
import type { ErrorResponse, JobRecord, JobState, NodeMeta } from '@edgefleet/contracts';

export type { JobList, JobSummary } from '@edgefleet/contracts';
export type { JobState, NodeMeta };
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Member {
  name: string;
  ip: string;
  port: number;
  state: MemberState;
  incarnation: number;
  /** edgefleet meta, null for nodes that send none or another format (then metaRaw). */
  meta: NodeMeta | null;
  metaRaw?: string;
  /** ISO time of the last state change. */
  lastChange: string;
  self: boolean;
  /** Reaped from the member table, listed from the node's departed record (lastChange = when declared). */
  gone?: boolean;
  /** Who declared it dead (itself for a leave), when known. */
  declaredBy?: string;
  /** Set by this page when the node was reaped from the member table (it stays shown as last seen). */
  forgotten?: boolean;
}

export interface MembersBody {
  self: string;
  health: number;
  members: Member[];
}

/** The fields of a job record this page shows. */
export type JobRecordView = Pick<JobRecord, 'jobId' | 'state' | 'resultUri' | 'exitCode'>;

export type ApiError = ErrorResponse;

export const TERMINAL: ReadonlySet<string> = new Set([
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'CANCELED',
  'REJECTED',
]);
