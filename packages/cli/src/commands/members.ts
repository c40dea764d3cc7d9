// `edgefleet members`: the cluster as a table, from any node's membership API.
import { call, type Endpoints } from '../api.js';

export interface MemberRow {
  name: string;
  state: string;
  role: string;
  address: string;
  load: string;
  lastChange: string;
}

interface V1Member {
  name?: string;
  Name?: string;
  state?: string;
  addr?: string;
  address?: string;
  ip?: string;
  port?: number;
  meta?: { role?: string; load?: { running?: number; queued?: number } } | null;
  lastChange?: number | string;
}

export async function members(ep: Endpoints): Promise<MemberRow[]> {
  const body = await call<{ members?: V1Member[] } | V1Member[]>(ep.membersApi, 'v1/members');
  const list = Array.isArray(body) ? body : (body.members ?? []);
  return list.map((m) => ({
    name: m.name ?? m.Name ?? '?',
    state: m.state ?? '?',
    role: m.meta?.role ?? '-',
    address: m.address ?? m.addr ?? (m.ip ? `${m.ip}:${m.port}` : '-'),
    load: m.meta?.load ? `${m.meta.load.running ?? 0} running, ${m.meta.load.queued ?? 0} queued` : '-',
    lastChange: m.lastChange ? new Date(m.lastChange).toISOString() : '-',
  }));
}

export function table(rows: Record<string, string>[], columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((r) => line(columns.map((c) => r[c] ?? ''))),
  ].join('\n');
}
