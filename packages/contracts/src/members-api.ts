// The membership API's member list (gossip-membership, GET /v1/members and the dashboard's
// /v1/members/events stream): one schema for the node that writes it, the CLI and the dashboard that
// read it. Wire form: JSON, e.g.
//   {"self":"jet-1","health":0,"members":[{"name":"jet-1","ip":"10.0.0.1","port":8000,"state":"alive",
//    "incarnation":3,"meta":{"v":1,"role":"edge",…},"lastChange":"2026-12-01T10:00:00.000Z","self":true}]}
import { z } from 'zod';
import { NodeMeta } from './node-meta.js';

/** memberlist's node states (state.go StateAlive/StateSuspect/StateDead/StateLeft). */
export const MemberState = z.enum(['alive', 'suspect', 'dead', 'left']);
export type MemberState = z.infer<typeof MemberState>;

export const MemberJson = z.object({
  /** memberlist node name. */
  name: z.string(),
  /** Advertised IP as text. */
  ip: z.string(),
  /** Advertised gossip port. */
  port: z.number().int().min(0).max(65535),
  state: MemberState,
  /** memberlist incarnation (uint32). */
  incarnation: z.number().int().min(0).max(0xffff_ffff),
  /** edgefleet meta (node-meta.ts), null when the node sends none or another format (then metaRaw). */
  meta: NodeMeta.nullable(),
  /** Meta that is not edgefleet's: UTF-8 text as is (Go nodes), otherwise `base64:` and the bytes. */
  metaRaw: z.string().optional(),
  /** ISO time of the last state change. */
  lastChange: z.string(),
  /** This entry is the node that answered. */
  self: z.boolean(),
  /** Reaped from the member table, shown from the departed record (lastChange = when declared). */
  gone: z.literal(true).optional(),
  /** Who declared it dead (itself for a leave), when known. */
  declaredBy: z.string().optional(),
});
export type MemberJson = z.infer<typeof MemberJson>;

/** The body of GET /v1/members and the `snapshot` event of /v1/members/events. */
export const MembersBody = z.object({
  /** Name of the node that answered. */
  self: z.string(),
  /** Lifeguard's local health score (memberlist awareness): 0 = healthy, higher = slower to trust itself. */
  health: z.number().int().min(0),
  members: z.array(MemberJson),
});
export type MembersBody = z.infer<typeof MembersBody>;
