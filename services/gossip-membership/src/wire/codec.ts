// memberlist messages ↔ bytes: `[type byte] + msgpack(struct)` (memberlist util.go encode/decode;
// field tables and Go vectors in docs/wire.md §5). Encoding is byte-identical to a Go 0.2.2 node
// (go-msgpack 0.5.x): keys sorted in byte order, bytes and strings as raw str, omitempty Source*
// fields left out (msgpack-writer.ts). Decoding accepts any key order, unknown keys and Go's alternative
// forms, and returns values — never throws.
//
// Type bytes (protocol/messages.ts MessageType), and what follows them:
//   0 ping, 1 indirectPing, 2 ackResp, 3 suspect, 4 alive, 5 dead, 11 nackResp, 13 err:
//        one msgpack struct; trailing bytes after it are ignored (Go's decode() does the same).
//   6 pushPull: header{Join,Nodes,UserStateLen} + Nodes × pushNodeState + UserStateLen raw bytes.
//        Limits (memberlist ≥ 0.6): Nodes ≤ 1,048,576 and UserStateLen ≤ 20 MiB, else TOO_LARGE.
//   7 compound: parts, see compound.ts (here: the raw parts, not decoded).
//   8 user: UDP form, raw bytes to the end (the TCP form with userMsgHeader is in stream.ts).
//   9 compress: struct {Algo u8, Buf bytes} (lzw.ts, compress.ts inflate it).
//   10 encrypt: TCP frame marker only; passthrough of the bytes after the type (stream.ts frames it).
//   12 hasCrc: u32 big-endian CRC32 of the rest, then the inner message (has-crc.ts checks it).
// Decode failures: {ok:false, code, detail}; codes TRUNCATED, BAD_MSGPACK, TOO_DEEP, UNKNOWN_TYPE
// (a type byte outside 0–13), TOO_LARGE (pushPull limits), EMPTY (no bytes at all).

import {
  type AckResp,
  type Alive,
  type Compress,
  type Dead,
  type ErrResp,
  type IndirectPingReq,
  type Message,
  MessageType,
  type NackResp,
  type Ping,
  type PushNodeState,
  type PushPull,
  type PushPullHeader,
  type Suspect,
  type UserMsgHeader,
} from '../protocol/messages.js';
import { decodeCompound } from './compound.js';
import type { MsgpackErrorCode } from './msgpack-format.js';
import { decodeStruct, type FieldSpec, type FieldValue } from './msgpack-struct.js';
import { fixKey, type MsgpackWriter, scratchWriter } from './msgpack-writer.js';

/** memberlist ≥ 0.6 push/pull header limits (net.go maxPushStateNodes / maxPushStateBytes). */
const MAX_PUSH_STATE_NODES = 1_048_576;
const MAX_USER_STATE_BYTES = 20 * 1024 * 1024;
const MAX_USER_MSG_BYTES = 20 * 1024 * 1024;

type CodecErrorCode = MsgpackErrorCode | 'UNKNOWN_TYPE' | 'TOO_LARGE' | 'EMPTY';
export interface CodecError {
  ok: false;
  code: CodecErrorCode;
  detail: string;
}
export type Decoded<T> = { ok: true; value: T; end: number } | CodecError;

/** Every top-level thing a type byte can introduce (UDP messages plus the wrappers). */
export type WireMessage =
  | Message
  | { type: 'pushPull'; body: PushPull }
  | { type: 'compound'; body: Uint8Array[] }
  | { type: 'compress'; body: Compress }
  | { type: 'encrypt'; body: Uint8Array }
  | { type: 'hasCrc'; body: { crc: number; payload: Uint8Array } };

const err = (code: CodecErrorCode, detail: string): CodecError => ({ ok: false, code, detail });

// Go struct fields in DECLARATION order (the positional-array form follows it).
const F = {
  ping: [
    { name: 'SeqNo', kind: 'uint32' },
    { name: 'Node', kind: 'string' },
    { name: 'SourceAddr', kind: 'bytes' },
    { name: 'SourcePort', kind: 'uint16' },
    { name: 'SourceNode', kind: 'string' },
  ],
  indirectPing: [
    { name: 'SeqNo', kind: 'uint32' },
    { name: 'Target', kind: 'bytes' },
    { name: 'Port', kind: 'uint16' },
    { name: 'Node', kind: 'string' },
    { name: 'Nack', kind: 'bool' },
    { name: 'SourceAddr', kind: 'bytes' },
    { name: 'SourcePort', kind: 'uint16' },
    { name: 'SourceNode', kind: 'string' },
  ],
  ackResp: [
    { name: 'SeqNo', kind: 'uint32' },
    { name: 'Payload', kind: 'bytes' },
  ],
  nackResp: [{ name: 'SeqNo', kind: 'uint32' }],
  errResp: [{ name: 'Error', kind: 'string' }],
  suspect: [
    { name: 'Incarnation', kind: 'uint32' },
    { name: 'Node', kind: 'string' },
    { name: 'From', kind: 'string' },
  ],
  alive: [
    { name: 'Incarnation', kind: 'uint32' },
    { name: 'Node', kind: 'string' },
    { name: 'Addr', kind: 'bytes' },
    { name: 'Port', kind: 'uint16' },
    { name: 'Meta', kind: 'bytes' },
    { name: 'Vsn', kind: 'bytes' },
  ],
  pushPullHeader: [
    { name: 'Nodes', kind: 'int' },
    { name: 'UserStateLen', kind: 'int' },
    { name: 'Join', kind: 'bool' },
  ],
  userMsgHeader: [{ name: 'UserMsgLen', kind: 'int' }],
  pushNodeState: [
    { name: 'Name', kind: 'string' },
    { name: 'Addr', kind: 'bytes' },
    { name: 'Port', kind: 'uint16' },
    { name: 'Meta', kind: 'bytes' },
    { name: 'Incarnation', kind: 'uint32' },
    { name: 'State', kind: 'int' },
    { name: 'Vsn', kind: 'bytes' },
  ],
  compress: [
    { name: 'Algo', kind: 'uint8' },
    { name: 'Buf', kind: 'bytes' },
  ],
} as const satisfies Record<string, readonly FieldSpec[]>;

// Pre-encoded fixstr keys.
const K = {
  Addr: fixKey('Addr'),
  Algo: fixKey('Algo'),
  Buf: fixKey('Buf'),
  Error: fixKey('Error'),
  From: fixKey('From'),
  Incarnation: fixKey('Incarnation'),
  Join: fixKey('Join'),
  Meta: fixKey('Meta'),
  Nack: fixKey('Nack'),
  Name: fixKey('Name'),
  Node: fixKey('Node'),
  Nodes: fixKey('Nodes'),
  Payload: fixKey('Payload'),
  Port: fixKey('Port'),
  SeqNo: fixKey('SeqNo'),
  SourceAddr: fixKey('SourceAddr'),
  SourceNode: fixKey('SourceNode'),
  SourcePort: fixKey('SourcePort'),
  State: fixKey('State'),
  Target: fixKey('Target'),
  UserMsgLen: fixKey('UserMsgLen'),
  UserStateLen: fixKey('UserStateLen'),
  Vsn: fixKey('Vsn'),
};

// ---------------------------------------------------------------------------------------------
// struct bodies (no type byte). Keys in Go's sorted order.

interface Source {
  sourceAddr?: Uint8Array;
  sourcePort?: number;
  sourceNode?: string;
}
function sourceFields(b: Source): number {
  return (
    (b.sourceAddr !== undefined && b.sourceAddr.length > 0 ? 1 : 0) +
    (b.sourceNode !== undefined && b.sourceNode !== '' ? 1 : 0) +
    (b.sourcePort !== undefined && b.sourcePort > 0 ? 1 : 0)
  );
}
function writeSource(w: MsgpackWriter, b: Source): void {
  if (b.sourceAddr !== undefined && b.sourceAddr.length > 0) w.key(K.SourceAddr).bytes(b.sourceAddr);
  if (b.sourceNode !== undefined && b.sourceNode !== '') w.key(K.SourceNode).str(b.sourceNode);
  if (b.sourcePort !== undefined && b.sourcePort > 0) w.key(K.SourcePort).uint(b.sourcePort);
}

export function writePing(w: MsgpackWriter, p: Ping): void {
  w.map(2 + sourceFields(p))
    .key(K.Node)
    .str(p.node)
    .key(K.SeqNo)
    .uint(p.seqNo);
  writeSource(w, p);
}
function writeIndirectPing(w: MsgpackWriter, p: IndirectPingReq): void {
  w.map(5 + sourceFields(p))
    .key(K.Nack)
    .bool(p.nack)
    .key(K.Node)
    .str(p.node)
    .key(K.Port)
    .uint(p.port)
    .key(K.SeqNo)
    .uint(p.seqNo);
  writeSource(w, p);
  w.key(K.Target).bytes(p.target);
}
export function writeAckResp(w: MsgpackWriter, a: AckResp): void {
  w.map(2).key(K.Payload).bytes(a.payload).key(K.SeqNo).uint(a.seqNo);
}
function writeNackResp(w: MsgpackWriter, n: NackResp): void {
  w.map(1).key(K.SeqNo).uint(n.seqNo);
}
export function writeErrResp(w: MsgpackWriter, e: ErrResp): void {
  w.map(1).key(K.Error).str(e.error);
}
/** suspect and dead share their layout. */
function writeSuspect(w: MsgpackWriter, s: Suspect | Dead): void {
  w.map(3).key(K.From).str(s.from).key(K.Incarnation).uint(s.incarnation).key(K.Node).str(s.node);
}
function writeAlive(w: MsgpackWriter, a: Alive): void {
  w.map(6)
    .key(K.Addr)
    .bytes(a.addr)
    .key(K.Incarnation)
    .uint(a.incarnation)
    .key(K.Meta)
    .bytes(a.meta)
    .key(K.Node)
    .str(a.node)
    .key(K.Port)
    .uint(a.port)
    .key(K.Vsn)
    .bytes(a.vsn);
}
export function writePushPullHeader(w: MsgpackWriter, h: PushPullHeader): void {
  w.map(3).key(K.Join).bool(h.join).key(K.Nodes).int(h.nodes).key(K.UserStateLen).int(h.userStateLen);
}
export function writePushNodeState(w: MsgpackWriter, s: PushNodeState): void {
  w.map(7)
    .key(K.Addr)
    .bytes(s.addr)
    .key(K.Incarnation)
    .uint(s.incarnation)
    .key(K.Meta)
    .bytes(s.meta)
    .key(K.Name)
    .str(s.name)
    .key(K.Port)
    .uint(s.port)
    .key(K.State)
    .int(s.state)
    .key(K.Vsn)
    .bytes(s.vsn);
}
export function writeUserMsgHeader(w: MsgpackWriter, h: UserMsgHeader): void {
  w.map(1).key(K.UserMsgLen).int(h.userMsgLen);
}
export function writeCompress(w: MsgpackWriter, c: Compress): void {
  w.map(2).key(K.Algo).uint(c.algo).key(K.Buf).bytes(c.buf);
}

// ---------------------------------------------------------------------------------------------
// struct decoders (no type byte): value + end offset

/** Decoded values with name → position lookup (positions follow the spec's declaration order). */
interface Fields {
  v: FieldValue[];
  ix: Record<string, number>;
}
const indexes = new WeakMap<readonly FieldSpec[], Record<string, number>>();
function indexOf(spec: readonly FieldSpec[]): Record<string, number> {
  let ix = indexes.get(spec);
  if (ix === undefined) {
    ix = Object.fromEntries(spec.map((f, i) => [f.name, i]));
    indexes.set(spec, ix);
  }
  return ix;
}
const get = (f: Fields, k: string): FieldValue => f.v[f.ix[k] ?? -1] ?? null;
const num = (f: Fields, k: string) => get(f, k) as number;
const str = (f: Fields, k: string) => get(f, k) as string;
const bytes = (f: Fields, k: string) => get(f, k) as Uint8Array | null;
const bool = (f: Fields, k: string) => get(f, k) as boolean;

function struct<T>(
  buf: Uint8Array,
  offset: number,
  spec: readonly FieldSpec[],
  build: (f: Fields) => T,
): Decoded<T> {
  const r = decodeStruct(buf, offset, spec);
  if (!r.ok) return r;
  return { ok: true, value: build({ v: r.values, ix: indexOf(spec) }), end: r.end };
}

function withSource<T extends Source>(body: T, f: Fields): T {
  const addr = bytes(f, 'SourceAddr');
  if (addr !== null && addr.length > 0) body.sourceAddr = addr;
  const port = num(f, 'SourcePort');
  if (port > 0) body.sourcePort = port;
  const node = str(f, 'SourceNode');
  if (node !== '') body.sourceNode = node;
  return body;
}

export const readPing = (buf: Uint8Array, at = 0): Decoded<Ping> =>
  struct(buf, at, F.ping, (f) => withSource<Ping>({ seqNo: num(f, 'SeqNo'), node: str(f, 'Node') }, f));
const readIndirectPing = (buf: Uint8Array, at = 0): Decoded<IndirectPingReq> =>
  struct(buf, at, F.indirectPing, (f) =>
    withSource<IndirectPingReq>(
      {
        seqNo: num(f, 'SeqNo'),
        target: bytes(f, 'Target') ?? new Uint8Array(0),
        port: num(f, 'Port'),
        node: str(f, 'Node'),
        nack: bool(f, 'Nack'),
      },
      f,
    ),
  );
export const readAckResp = (buf: Uint8Array, at = 0): Decoded<AckResp> =>
  struct(buf, at, F.ackResp, (f) => ({ seqNo: num(f, 'SeqNo'), payload: bytes(f, 'Payload') }));
const readNackResp = (buf: Uint8Array, at = 0): Decoded<NackResp> =>
  struct(buf, at, F.nackResp, (f) => ({ seqNo: num(f, 'SeqNo') }));
export const readErrResp = (buf: Uint8Array, at = 0): Decoded<ErrResp> =>
  struct(buf, at, F.errResp, (f) => ({ error: str(f, 'Error') }));
const readSuspect = (buf: Uint8Array, at = 0): Decoded<Suspect> =>
  struct(buf, at, F.suspect, (f) => ({
    incarnation: num(f, 'Incarnation'),
    node: str(f, 'Node'),
    from: str(f, 'From'),
  }));
const readDead: (buf: Uint8Array, at?: number) => Decoded<Dead> = readSuspect;
const readAlive = (buf: Uint8Array, at = 0): Decoded<Alive> =>
  struct(buf, at, F.alive, (f) => ({
    incarnation: num(f, 'Incarnation'),
    node: str(f, 'Node'),
    addr: bytes(f, 'Addr') ?? new Uint8Array(0),
    port: num(f, 'Port'),
    meta: bytes(f, 'Meta'),
    vsn: bytes(f, 'Vsn') ?? new Uint8Array(0),
  }));
export const readPushNodeState = (buf: Uint8Array, at = 0): Decoded<PushNodeState> =>
  struct(buf, at, F.pushNodeState, (f) => ({
    name: str(f, 'Name'),
    addr: bytes(f, 'Addr') ?? new Uint8Array(0),
    port: num(f, 'Port'),
    meta: bytes(f, 'Meta'),
    incarnation: num(f, 'Incarnation'),
    state: num(f, 'State'),
    vsn: bytes(f, 'Vsn') ?? new Uint8Array(0),
  }));
const readCompress = (buf: Uint8Array, at = 0): Decoded<Compress> =>
  struct(buf, at, F.compress, (f) => ({ algo: num(f, 'Algo'), buf: bytes(f, 'Buf') ?? new Uint8Array(0) }));

/** Header with the memberlist ≥ 0.6 limits applied (negative counts are BAD_MSGPACK). */
export function readPushPullHeader(buf: Uint8Array, at = 0): Decoded<PushPullHeader> {
  const r = struct(buf, at, F.pushPullHeader, (f) => ({
    nodes: num(f, 'Nodes'),
    userStateLen: num(f, 'UserStateLen'),
    join: bool(f, 'Join'),
  }));
  if (!r.ok) return r;
  const h = r.value;
  if (h.nodes < 0 || h.userStateLen < 0) return err('BAD_MSGPACK', 'negative push/pull count');
  if (h.nodes > MAX_PUSH_STATE_NODES) return err('TOO_LARGE', `push/pull of ${h.nodes} nodes`);
  if (h.userStateLen > MAX_USER_STATE_BYTES)
    return err('TOO_LARGE', `push/pull user state of ${h.userStateLen} bytes`);
  return r;
}
export function readUserMsgHeader(buf: Uint8Array, at = 0): Decoded<UserMsgHeader> {
  const r = struct(buf, at, F.userMsgHeader, (f) => ({ userMsgLen: num(f, 'UserMsgLen') }));
  if (!r.ok) return r;
  if (r.value.userMsgLen < 0) return err('BAD_MSGPACK', 'negative user message length');
  if (r.value.userMsgLen > MAX_USER_MSG_BYTES)
    return err('TOO_LARGE', `user message of ${r.value.userMsgLen} bytes`);
  return r;
}

/**
 * The body of a pushPull (after the `6`): header, states and user state, from a buffer holding the
 * whole frame. `end` = offset after the user state (trailing bytes are the caller's business).
 */
function readPushPull(buf: Uint8Array, at = 0): Decoded<PushPull> {
  const h = readPushPullHeader(buf, at);
  if (!h.ok) return h;
  let p = h.end;
  // Each state takes at least one byte: refuse a count the buffer cannot hold before looping.
  if (h.value.nodes > buf.length - p) return err('TRUNCATED', `push/pull announces ${h.value.nodes} nodes`);
  const states: PushNodeState[] = [];
  for (let i = 0; i < h.value.nodes; i++) {
    const s = readPushNodeState(buf, p);
    if (!s.ok) return { ...s, detail: `state ${i}: ${s.detail}` };
    states.push(s.value);
    p = s.end;
  }
  if (p + h.value.userStateLen > buf.length) return err('TRUNCATED', 'push/pull user state');
  const userState = buf.slice(p, p + h.value.userStateLen);
  return { ok: true, value: { join: h.value.join, states, userState }, end: p + h.value.userStateLen };
}

export function writePushPull(w: MsgpackWriter, pp: PushPull): void {
  writePushPullHeader(w, { nodes: pp.states.length, userStateLen: pp.userState.length, join: pp.join });
  for (const s of pp.states) writePushNodeState(w, s);
  w.raw(pp.userState);
}

// ---------------------------------------------------------------------------------------------
// whole messages: type byte + body

/** Encodes a message with its type byte. Encoding never fails for well-typed input. */
export function encodeMessage(m: WireMessage): Uint8Array {
  const w = scratchWriter.reset();
  writeMessage(w, m);
  return w.finish();
}

/** Appends a message with its type byte to a writer (for building compounds/streams in place). */
function writeMessage(w: MsgpackWriter, m: WireMessage): void {
  w.byte(MessageType[m.type]);
  switch (m.type) {
    case 'ping':
      writePing(w, m.body);
      return;
    case 'indirectPing':
      writeIndirectPing(w, m.body);
      return;
    case 'ackResp':
      writeAckResp(w, m.body);
      return;
    case 'nackResp':
      writeNackResp(w, m.body);
      return;
    case 'suspect':
    case 'dead':
      writeSuspect(w, m.body);
      return;
    case 'alive':
      writeAlive(w, m.body);
      return;
    case 'err':
      writeErrResp(w, m.body);
      return;
    case 'user':
      w.raw(m.body);
      return;
    case 'pushPull':
      writePushPull(w, m.body);
      return;
    case 'compress':
      writeCompress(w, m.body);
      return;
    case 'encrypt':
      w.raw(m.body);
      return;
    case 'hasCrc': {
      const c = m.body.crc >>> 0;
      w.byte(c >>> 24)
        .byte((c >>> 16) & 0xff)
        .byte((c >>> 8) & 0xff)
        .byte(c & 0xff);
      w.raw(m.body.payload);
      return;
    }
    case 'compound': {
      // Raw, unchecked layout; compound.ts splits > 255 parts and refuses parts > 65535 bytes.
      w.byte(m.body.length & 0xff);
      for (const part of m.body) w.byte((part.length >>> 8) & 0xff).byte(part.length & 0xff);
      for (const part of m.body) w.raw(part);
      return;
    }
  }
}

/** Exact encoded size of a message in bytes (what the piggyback budget needs). */
export function encodedSize(m: WireMessage): number {
  const w = scratchWriter.reset();
  writeMessage(w, m);
  return w.length;
}

const TYPE_NAMES: Record<number, WireMessage['type']> = {
  0: 'ping',
  1: 'indirectPing',
  2: 'ackResp',
  3: 'suspect',
  4: 'alive',
  5: 'dead',
  6: 'pushPull',
  7: 'compound',
  8: 'user',
  9: 'compress',
  10: 'encrypt',
  11: 'nackResp',
  12: 'hasCrc',
  13: 'err',
};

/**
 * Decodes one message (type byte + body) occupying the buffer. Compound parts are returned raw
 * (compound.ts decodes them), compress is returned undecompressed, hasCrc unchecked.
 */
export function decodeMessage(buf: Uint8Array): { ok: true; value: WireMessage } | CodecError {
  const t = buf[0];
  if (t === undefined) return err('EMPTY', 'no type byte');
  const name = TYPE_NAMES[t];
  if (name === undefined) return err('UNKNOWN_TYPE', `message type ${t}`);
  const body = 1;
  const wrap = <T>(r: Decoded<T>, f: (v: T) => WireMessage) =>
    r.ok ? { ok: true as const, value: f(r.value) } : r;
  switch (name) {
    case 'ping':
      return wrap(readPing(buf, body), (v) => ({ type: 'ping', body: v }));
    case 'indirectPing':
      return wrap(readIndirectPing(buf, body), (v) => ({ type: 'indirectPing', body: v }));
    case 'ackResp':
      return wrap(readAckResp(buf, body), (v) => ({ type: 'ackResp', body: v }));
    case 'nackResp':
      return wrap(readNackResp(buf, body), (v) => ({ type: 'nackResp', body: v }));
    case 'suspect':
      return wrap(readSuspect(buf, body), (v) => ({ type: 'suspect', body: v }));
    case 'dead':
      return wrap(readDead(buf, body), (v) => ({ type: 'dead', body: v }));
    case 'alive':
      return wrap(readAlive(buf, body), (v) => ({ type: 'alive', body: v }));
    case 'err':
      return wrap(readErrResp(buf, body), (v) => ({ type: 'err', body: v }));
    case 'user':
      return { ok: true, value: { type: 'user', body: buf.slice(body) } };
    case 'pushPull':
      return wrap(readPushPull(buf, body), (v) => ({ type: 'pushPull', body: v }));
    case 'compress':
      return wrap(readCompress(buf, body), (v) => ({ type: 'compress', body: v }));
    case 'encrypt':
      return { ok: true, value: { type: 'encrypt', body: buf.slice(body) } };
    case 'hasCrc': {
      if (buf.length < 5) return err('TRUNCATED', 'hasCrc shorter than 5 bytes');
      const crc =
        ((buf[1] ?? 0) * 0x1000000 + ((buf[2] ?? 0) << 16) + ((buf[3] ?? 0) << 8) + (buf[4] ?? 0)) >>> 0;
      return { ok: true, value: { type: 'hasCrc', body: { crc, payload: buf.slice(5) } } };
    }
    case 'compound': {
      const r = decodeCompound(buf.subarray(1));
      if (!r.ok) return r;
      // Truncated parts are dropped as Go does (packet.ts counts them).
      return { ok: true, value: { type: 'compound', body: r.parts.map((p) => p.slice()) } };
    }
  }
}
