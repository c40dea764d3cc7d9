// The /v1 member object (the same shape GET /v1/members returns), shared by the dashboard's live
// stream so a snapshot and an update describe a member identically.
import { decodeNodeMeta } from '@edgefleet/contracts';
import type { MemberInfo, MembershipView } from './membership-view.js';

/** Meta as the API shows it: our JSON decoded, anything else as text (Go nodes) or base64 if not UTF-8. */
export function metaJson(meta: Uint8Array | null): { meta: unknown; metaRaw?: string } {
  if (!meta || meta.length === 0) return { meta: null };
  const decoded = decodeNodeMeta(meta);
  if (decoded) return { meta: decoded };
  try {
    return { meta: null, metaRaw: new TextDecoder('utf-8', { fatal: true }).decode(meta) };
  } catch {
    return { meta: null, metaRaw: `base64:${Buffer.from(meta).toString('base64')}` };
  }
}

export interface MemberJson {
  name: string;
  ip: string;
  port: number;
  state: MemberInfo['state'];
  incarnation: number;
  meta: unknown;
  metaRaw?: string;
  /** ISO time of the last state change. */
  lastChange: string;
  self: boolean;
}

export function memberJson(m: MemberInfo, selfName: string): MemberJson {
  return {
    name: m.name,
    ip: m.ip,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    ...metaJson(m.meta),
    lastChange: new Date(m.stateChangeMs).toISOString(),
    self: m.name === selfName,
  };
}

/** The body of GET /v1/members. */
export interface MembersBody {
  self: string;
  health: number;
  members: MemberJson[];
}

export function membersBody(view: MembershipView): MembersBody {
  const self = view.self().name;
  return { self, health: view.health(), members: view.members().map((m) => memberJson(m, self)) };
}
