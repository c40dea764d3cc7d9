// `edgefleet members`: the cluster as a table, from any node's membership API.
import type { MemberJson, NodeMeta } from '@edgefleet/contracts';
import { call, type Endpoints } from '../api.js';

export interface MemberRow {
  name: string;
  state: string;
  role: string;
  address: string;
  load: string;
  /** Board model (else GPU label) and L4T release, e.g. "NVIDIA Jetson AGX Orin Developer Kit, L4T 36.4.0". */
  device: string;
  /** Live tegrastats facts, e.g. "GPU 73% 61.1°C MAXN RAM 5874/7620 MiB"; "-" when the node reports none. */
  hw: string;
  lastChange: string;
  /** Who declared it dead (itself for a leave); '-' for members not departed. */
  declaredBy: string;
}

type Hw = NonNullable<NodeMeta['hw']>;
type Labels = NodeMeta['labels'];

/** The device column: what the node is. Absent facts are left out. */
export function deviceText(labels: Labels | undefined): string {
  if (!labels) return '-';
  const parts = [labels.board ?? labels.gpu, labels.l4t ? `L4T ${labels.l4t}` : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : '-';
}

/** The hw column: live facts only as reported (never 0 for unknown). */
export function hwText(hw: Hw | undefined): string {
  if (!hw) return '-';
  const parts = [
    hw.gpuPct !== undefined ? `GPU ${hw.gpuPct}%` : undefined,
    hw.tempC !== undefined ? `${hw.tempC}°C` : undefined,
    hw.power,
    hw.ramMiB !== undefined && hw.ramTotalMiB !== undefined
      ? `RAM ${hw.ramMiB}/${hw.ramTotalMiB} MiB`
      : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : '-';
}

/** A member of GET /v1/members (contracts' MemberJson), with the keys older nodes wrote instead. */
type V1Member = Partial<MemberJson> & { Name?: string; addr?: string; address?: string };

/**
 * The members the node's protocol table holds; with `all`, also the departed nodes it still
 * remembers (dead or left, reaped from the table, kept for EDGEFLEET_GOSSIP_DEAD_RETENTION).
 */
export async function members(ep: Endpoints, all = false): Promise<MemberRow[]> {
  const body = await call<{ members?: V1Member[] } | V1Member[]>(ep.membersApi, 'v1/members');
  const list = (Array.isArray(body) ? body : (body.members ?? [])).filter((m) => all || !m.gone);
  return list.map((m) => ({
    name: m.name ?? m.Name ?? '?',
    state: m.state ?? '?',
    role: m.meta?.role ?? '-',
    address: m.address ?? m.addr ?? (m.ip ? `${m.ip}:${m.port}` : '-'),
    load: m.meta?.load ? `${m.meta.load.running ?? 0} running, ${m.meta.load.queued ?? 0} queued` : '-',
    device: deviceText(m.meta?.labels),
    hw: hwText(m.meta?.hw),
    lastChange: m.lastChange ? new Date(m.lastChange).toISOString() : '-',
    declaredBy: m.declaredBy ?? '-',
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
