// The /v1 member object (the same shape GET /v1/members returns), shared by the dashboard's live
// stream so a snapshot and an update describe a member identically. The shape is contracts'
// MemberJson / MembersBody (members-api.ts), which the CLI reads too.
import { decodeNodeMeta, type MemberJson, type MembersBody } from '@edgefleet/contracts';
import type { MemberInfo, MembershipView } from './membership-view.js';

/** Meta as the API shows it: our JSON decoded, anything else as text (Go nodes) or base64 if not UTF-8. */
function metaJson(meta: Uint8Array | null): Pick<MemberJson, 'meta' | 'metaRaw'> {
  if (!meta || meta.length === 0) return { meta: null };
  const decoded = decodeNodeMeta(meta);
  if (decoded) return { meta: decoded };
  try {
    return { meta: null, metaRaw: new TextDecoder('utf-8', { fatal: true }).decode(meta) };
  } catch {
    return { meta: null, metaRaw: `base64:${Buffer.from(meta).toString('base64')}` };
  }
}

function memberJson(m: MemberInfo, selfName: string): MemberJson {
  return {
    name: m.name,
    ip: m.ip,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    ...metaJson(m.meta),
    lastChange: new Date(m.stateChangeMs).toISOString(),
    self: m.name === selfName,
    ...(m.gone ? { gone: true as const } : {}),
    ...(m.declaredBy !== undefined ? { declaredBy: m.declaredBy } : {}),
  };
}

/** The body of GET /v1/members; `states` keeps only members in those states. */
export function membersBody(view: MembershipView, states?: ReadonlySet<MemberInfo['state']>): MembersBody {
  const self = view.self().name;
  const all = view.members();
  const members = states === undefined ? all : all.filter((m) => states.has(m.state));
  return { self, health: view.health(), members: members.map((m) => memberJson(m, self)) };
}
