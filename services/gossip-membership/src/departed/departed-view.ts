// The member list the API and the dashboard show: the protocol's member table, plus the departed
// record's nodes that the table has already reaped (`gone`). A node the table still holds is shown
// from the table (its state is the fresher one), with the record's declarer added when dead or left.
import type { DepartedMember } from '@edgefleet/contracts';
import type { MemberInfo, MembershipView } from '../membership-view.js';

export interface DepartedSource {
  list(): DepartedMember[];
}

function departedInfo(d: DepartedMember): MemberInfo {
  return {
    name: d.name,
    ip: d.ip,
    port: d.port,
    state: d.state,
    incarnation: d.incarnation,
    meta: d.meta === null ? null : new Uint8Array(Buffer.from(d.meta, 'base64')),
    stateChangeMs: d.at,
    gone: true,
    declaredBy: d.by,
  };
}

/** The table's members and the departed record's, merged as described above. */
export function membersWithDeparted(
  table: readonly MemberInfo[],
  departed: readonly DepartedMember[],
): MemberInfo[] {
  const byName = new Map(departed.map((d) => [d.name, d]));
  const out = table.map((m) => {
    const d = byName.get(m.name);
    if (d === undefined) return m;
    byName.delete(m.name);
    return m.state === 'dead' || m.state === 'left' ? { ...m, declaredBy: d.by } : m;
  });
  for (const d of byName.values()) out.push(departedInfo(d));
  return out;
}

/** `view` with the departed record's members added to members(). */
export function withDeparted(view: MembershipView, departed: DepartedSource): MembershipView {
  return {
    self: () => view.self(),
    members: () => membersWithDeparted(view.members(), departed.list()),
    health: () => view.health(),
    leave: () => view.leave(),
  };
}
