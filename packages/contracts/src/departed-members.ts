// Departed members: the nodes of a gossip-membership cluster that were declared dead or that left,
// kept by every edgefleet node for its retention (EDGEFLEET_GOSSIP_DEAD_RETENTION) after the
// protocol's member table has reaped them. One schema for the three places the list travels:
//  - the push/pull user state (memberlist Delegate.LocalState / MergeRemoteState, state.go) that
//    edgefleet nodes exchange; Go memberlist nodes without a delegate read and ignore it;
//  - the copy a node persists (Redis string at RedisNames.departedMembers, or a file);
//  - nothing else: the HTTP API shows them as ordinary member objects.
// Wire form: compact JSON, UTF-8, e.g.
//   {"departed":1,"members":[{"name":"jet-7","ip":"10.0.0.7","port":8000,"incarnation":4,
//    "meta":"eyJ2IjoxfQ==","state":"dead","at":1764075000000,"by":"jet-2"}]}
import { z } from 'zod';

/** Largest user state a node accepts from a peer, and the most it sends, bytes. */
export const DEPARTED_STATE_MAX_BYTES = 64 * 1024;

export const DepartedMember = z.object({
  /** memberlist node name (≤ 255 bytes on the wire there; bounded here for the same reason). */
  name: z.string().min(1).max(512),
  /** Last advertised IP as text. */
  ip: z.string().min(1).max(64),
  port: z.number().int().min(0).max(65535),
  /** Incarnation at which the node was declared dead or left. */
  incarnation: z.number().int().min(0).max(0xffff_ffff),
  /** Last meta as base64 (≤ 512 bytes decoded, memberlist's MetaMaxSize), null when it had none. */
  meta: z.string().max(700).nullable(),
  /** dead = declared failed by a peer; left = it announced its own leave. */
  state: z.enum(['dead', 'left']),
  /** When the first node declared it, ms since the epoch (that node's clock). */
  at: z.number().int().min(0),
  /** Name of the node that declared it (the dead message's From; the node itself for a leave). */
  by: z.string().max(512),
});
export type DepartedMember = z.infer<typeof DepartedMember>;

export const DepartedState = z.object({
  /** Format version. */
  departed: z.literal(1),
  members: z.array(DepartedMember).max(10_000),
});
export type DepartedState = z.infer<typeof DepartedState>;
