// The departed record as bytes: the push/pull user state edgefleet nodes exchange (memberlist
// Delegate.LocalState / MergeRemoteState; a Go node without a delegate reads the bytes and ignores
// them, memberlist state.go mergeRemoteState) and the persisted copy. Format and limits:
// packages/contracts/src/departed-members.ts. Pure.
import { DEPARTED_STATE_MAX_BYTES, DepartedMember, DepartedState } from '@edgefleet/contracts';

export type DecodeResult =
  | { ok: true; members: DepartedMember[] }
  | { ok: false; reason: 'oversized' | 'malformed'; detail: string };

/** Why a peer's user state was not merged (the metric's `reason` label). */
export type UserStateDropReason = 'oversized' | 'malformed';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes the entries, newest declaration first, as many as fit in `maxBytes` (the rest are left
 * out; peers still learn them from other nodes or from the table's own gossip). Empty when there
 * is nothing to send: memberlist sends no user state then either.
 */
export function encodeDepartedState(
  members: readonly DepartedMember[],
  maxBytes = DEPARTED_STATE_MAX_BYTES,
): Uint8Array {
  if (members.length === 0) return new Uint8Array(0);
  const sorted = [...members].sort((a, b) => b.at - a.at);
  const head = '{"departed":1,"members":[';
  const parts: string[] = [];
  let size = Buffer.byteLength(head) + 2;
  for (const m of sorted) {
    const text = JSON.stringify(DepartedMember.parse(m));
    const add = Buffer.byteLength(text) + (parts.length > 0 ? 1 : 0);
    if (size + add > maxBytes) break;
    parts.push(text);
    size += add;
  }
  return encoder.encode(`${head}${parts.join(',')}]}`);
}

/** Decodes a peer's (or the persisted) state. Oversized or anything off the schema: refused whole. */
export function decodeDepartedState(bytes: Uint8Array, maxBytes = DEPARTED_STATE_MAX_BYTES): DecodeResult {
  if (bytes.length > maxBytes)
    return { ok: false, reason: 'oversized', detail: `${bytes.length} bytes > ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
  const parsed = DepartedState.safeParse(json);
  if (!parsed.success)
    return { ok: false, reason: 'malformed', detail: parsed.error.issues[0]?.message ?? 'schema' };
  return { ok: true, members: parsed.data.members };
}
