// The memberlist messages as TypeScript values (memberlist `net.go` structs; field table in
// docs/wire.md §5). Field names are camelCase here; the codec maps them to Go's PascalCase keys
// (`seqNo` ↔ `SeqNo`) and back. Byte fields (addresses, meta, vsn, payloads) are Uint8Array; a Go nil
// slice is `null`. Integers are JS numbers (all fit in 32 bits).

/** Message type bytes (`net.go` messageType). */
export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ackResp: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nackResp: 11,
  hasCrc: 12,
  err: 13,
  /** Outermost label prefix on packets and streams (memberlist ≥ 0.3). */
  hasLabel: 244,
} as const;

/** Node states as pushNodeState.State carries them. */
export const NodeStateCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateName = keyof typeof NodeStateCode;

export interface Ping {
  seqNo: number;
  /** Name of the intended target ('' = anyone). */
  node: string;
  /** The sender's advertise address/port/name (omitted when empty: Go's omitempty). */
  sourceAddr?: Uint8Array;
  sourcePort?: number;
  sourceNode?: string;
}

export interface IndirectPingReq {
  seqNo: number;
  target: Uint8Array;
  port: number;
  node: string;
  /** Ask for a nack when no ack arrives within the probe timeout. */
  nack: boolean;
  sourceAddr?: Uint8Array;
  sourcePort?: number;
  sourceNode?: string;
}

export interface AckResp {
  seqNo: number;
  /** nil (null) when there is no ping delegate. */
  payload: Uint8Array | null;
}

export interface NackResp {
  seqNo: number;
}

export interface ErrResp {
  error: string;
}

export interface Suspect {
  incarnation: number;
  node: string;
  from: string;
}

export interface Alive {
  incarnation: number;
  node: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  /** [pMin, pMax, pCur, dMin, dMax, dCur] (docs/wire.md §10). */
  vsn: Uint8Array;
}

/** node === from means the node left voluntarily. */
export interface Dead {
  incarnation: number;
  node: string;
  from: string;
}

export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}

export interface PushNodeState {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array | null;
  incarnation: number;
  state: number;
  vsn: Uint8Array;
}

export interface UserMsgHeader {
  userMsgLen: number;
}

export interface Compress {
  /** 0 = LZW. */
  algo: number;
  buf: Uint8Array;
}

/** A decoded UDP-level message (after label/CRC/compression/compound unwrapping). */
export type Message =
  | { type: 'ping'; body: Ping }
  | { type: 'indirectPing'; body: IndirectPingReq }
  | { type: 'ackResp'; body: AckResp }
  | { type: 'nackResp'; body: NackResp }
  | { type: 'suspect'; body: Suspect }
  | { type: 'alive'; body: Alive }
  | { type: 'dead'; body: Dead }
  | { type: 'user'; body: Uint8Array }
  | { type: 'err'; body: ErrResp };

/** A push/pull exchange (TCP): header, node states, and the opaque user state. */
export interface PushPull {
  join: boolean;
  states: PushNodeState[];
  userState: Uint8Array;
}
