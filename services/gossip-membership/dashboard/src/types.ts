// The JSON this page reads: GET /v1/members (and the /v1/members/events stream) of the node serving
// it, and the job API's list and record (proxied under /v1/jobs). The member list, node meta and the
// job API's shapes come from the contracts package (types only: nothing of it is bundled).
import type {
  ErrorResponse,
  JobRecord,
  MemberJson,
  MembersBody as MembersBodyJson,
  NodeMeta,
} from '@edgefleet/contracts';

export type { JobList, JobSummary, MemberState } from '@edgefleet/contracts';
export type { NodeMeta };

/** A member as GET /v1/members lists it, plus what only this page tracks. */
export interface Member extends MemberJson {
  /** Set by this page when the node was reaped from the member table (it stays shown as last seen). */
  forgotten?: boolean;
}

/** GET /v1/members and the `snapshot` event, with members the page can mark. */
export interface MembersBody extends MembersBodyJson {
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
