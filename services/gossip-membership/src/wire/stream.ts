// TCP stream frames (memberlist net.go handleConn / readStream / rawSendMsgStream /
// sendLocalState / sendUserMsg / sendPingAndWaitForAck / encryptLocalState; docs/wire.md §7).
//
// A stream carries one request frame and at most one reply frame, with NO overall length (unless
// encrypted) and no half-close: the reader must recognise the end of a frame from its content.
// parseStreamFrame(buffered) is therefore incremental — call it with everything received so far
// after each chunk; it answers `more`, a whole `frame` (+ bytes consumed) or an `error` with a code.
// It fits the transport's FrameParser<T> shape.
//
// Layout, outermost first:
//   [244][len][label]      only from the DIALLING side, at stream start (label.ts); `labelled`
//                          says whether to look for it (inbound requests: yes; replies: no).
//   [10][L u32 BE][sealed] encrypted frame; AD = [10, L] + label; L ≤ 20 MiB; the plaintext is a
//                          frame that may start with 9. Plaintext when a cipher is configured is
//                          refused unless allowPlaintext (GossipVerifyIncoming = false), and an
//                          encrypted frame without a cipher is refused (ENCRYPTION_NOT_CONFIGURED).
//   [9] compress{…}        Buf inflates to a frame ([type]+rest); one level only.
//   [6] pushPull           msgpack header{Join,Nodes,UserStateLen} + Nodes × pushNodeState +
//                          UserStateLen raw bytes (limits 1,048,576 nodes / 20 MiB).
//   [0] ping, [2] ackResp, [13] errResp: one msgpack struct.
//   [8] user               msgpack userMsgHeader{UserMsgLen} + that many raw bytes (≤ 20 MiB).
// Sending (encodeStreamFrame): frame → compress (ALWAYS when enabled: Go has no "only if
// shorter" on streams) → encrypt → label header (dialling side only).
// Codes: TRUNCATED (a wrapped frame shorter than announced), UNKNOWN_TYPE, UNSUPPORTED_TYPE,
// BAD_MSGPACK, TOO_DEEP, BAD_COMPRESSION, TOO_LARGE, EMPTY_LABEL, LABEL_MISMATCH,
// DECRYPT_FAILED, ENCRYPTION_NOT_CONFIGURED, ENCRYPTION_REQUIRED.

import {
  type AckResp,
  type ErrResp,
  MessageType,
  type Ping,
  type PushNodeState,
  type PushPull,
  type PushPullHeader,
} from '../protocol/messages.js';
import type { Cipher } from './cipher.js';
import {
  type CodecError,
  type Decoded,
  readAckResp,
  readErrResp,
  readPing,
  readPushNodeState,
  readPushPullHeader,
  readUserMsgHeader,
  writeAckResp,
  writeErrResp,
  writePing,
  writePushPull,
  writeUserMsgHeader,
} from './codec.js';
import { compressMessage, decompressMessage } from './compress.js';
import { checkLabel, labelBytes, labelHeader, readStreamLabel } from './label.js';
import { MAX_DECOMPRESSED_BYTES } from './lzw.js';
import { measure } from './msgpack-measure.js';
import { MsgpackWriter } from './msgpack-writer.js';

/** memberlist maxPushStateBytes: the largest encrypted stream payload accepted. */
const MAX_ENCRYPTED_STREAM_BYTES = 20 * 1024 * 1024;
/** Default cap on bytes buffered while waiting for a plaintext frame to complete. */
const MAX_STREAM_FRAME_BYTES = 64 * 1024 * 1024;

/** One whole frame (after label/decryption/decompression); the driver's wire interface uses it too. */
export type StreamFrame =
  | { type: 'pushPull'; value: PushPull }
  | { type: 'ping'; value: Ping }
  | { type: 'ackResp'; value: AckResp }
  | { type: 'err'; value: ErrResp }
  | { type: 'user'; value: Uint8Array };

export type StreamErrorCode =
  | 'TRUNCATED'
  | 'UNKNOWN_TYPE'
  | 'UNSUPPORTED_TYPE'
  | 'BAD_MSGPACK'
  | 'TOO_DEEP'
  | 'BAD_COMPRESSION'
  | 'TOO_LARGE'
  | 'EMPTY'
  | 'EMPTY_LABEL'
  | 'LABEL_MISMATCH'
  | 'DECRYPT_FAILED'
  | 'ENCRYPTION_NOT_CONFIGURED'
  | 'ENCRYPTION_REQUIRED';

export type StreamParse =
  | { kind: 'more' }
  | { kind: 'frame'; value: StreamFrame; consumed: number; compressed: boolean; encrypted: boolean }
  | { kind: 'error'; code: StreamErrorCode; reason: string };

export interface StreamParseOptions {
  /** Look for a label header at the start (inbound requests). Default true. */
  labelled?: boolean;
  label?: string | Uint8Array;
  /** memberlist SkipInboundLabelCheck (label.ts). */
  skipInboundLabelCheck?: boolean;
  /** label.ts's lenient rule (edgefleet --label-migration). */
  lenientLabelCheck?: boolean;
  cipher?: Cipher;
  /** Accept unencrypted frames although a cipher is configured (GossipVerifyIncoming = false). */
  allowPlaintext?: boolean;
  maxDecompressed?: number;
  /** Plaintext bytes buffered before giving up with TOO_LARGE (default 64 MiB). */
  maxFrameBytes?: number;
}

const MORE = { kind: 'more' } as const;
const error = (code: StreamErrorCode, reason: string): StreamParse => ({ kind: 'error', code, reason });

/** Progress through a plain push/pull, kept between calls on one growing stream (createStreamParser). */
export interface StreamProgress {
  pushPull?: { at: number; header: PushPullHeader; states: PushNodeState[]; next: number };
}

/**
 * A stateful parser for ONE stream, fed everything received so far (an append-only buffer): a
 * plain push/pull resumes at the first node state not yet decoded, so a large or slowly arriving
 * push/pull costs O(bytes) overall instead of O(bytes × chunks). Same results as parseStreamFrame.
 */
export function createStreamParser(opts: StreamParseOptions = {}): (buffered: Uint8Array) => StreamParse {
  const progress: StreamProgress = {};
  return (buffered) => parseStreamFrame(buffered, opts, progress);
}

/**
 * Incremental parse of the one frame at the start of a stream (stateless: re-parses from the
 * start; see createStreamParser). Never throws.
 */
export function parseStreamFrame(
  buffered: Uint8Array,
  opts: StreamParseOptions = {},
  progress?: StreamProgress,
): StreamParse {
  let at = 0;
  // Replies carry no header but their encryption AD still holds the stream's (configured) label.
  let label: Uint8Array = labelBytes(opts.label ?? '');
  if (opts.labelled ?? true) {
    const l = readStreamLabel(buffered);
    if (l.kind === 'more') return MORE;
    if (l.kind === 'error') return error(l.code, l.detail);
    const checked = checkLabel(l.label, l.present, {
      label: opts.label ?? '',
      skipInboundCheck: opts.skipInboundLabelCheck ?? false,
      lenient: opts.lenientLabelCheck ?? false,
    });
    if (!checked.ok) return error(checked.code, checked.detail);
    label = checked.label;
    at = l.consumed;
  }
  const t = buffered[at];
  if (t === undefined) return MORE;
  if (t === MessageType.encrypt) {
    if (opts.cipher === undefined)
      return error('ENCRYPTION_NOT_CONFIGURED', 'Remote state is encrypted and encryption is not configured');
    if (buffered.length < at + 5) return MORE;
    const len =
      (((buffered[at + 1] ?? 0) << 24) |
        ((buffered[at + 2] ?? 0) << 16) |
        ((buffered[at + 3] ?? 0) << 8) |
        (buffered[at + 4] ?? 0)) >>>
      0;
    if (len > MAX_ENCRYPTED_STREAM_BYTES) return error('TOO_LARGE', `encrypted stream of ${len} bytes`);
    if (buffered.length < at + 5 + len) return MORE;
    const ad = new Uint8Array(5 + label.length);
    ad.set(buffered.subarray(at, at + 5));
    ad.set(label, 5);
    const opened = opts.cipher.open(buffered.subarray(at + 5, at + 5 + len), ad);
    if (!opened.ok) return error('DECRYPT_FAILED', opened.detail);
    const inner = parsePlain(opened.plaintext, 0, true, opts);
    if (inner.kind === 'more') return error('TRUNCATED', 'encrypted frame ends inside its message');
    if (inner.kind === 'error') return inner;
    return { ...inner, consumed: at + 5 + len, encrypted: true };
  }
  if (opts.cipher !== undefined && !opts.allowPlaintext)
    return error('ENCRYPTION_REQUIRED', 'Encryption is configured but remote state is not encrypted');
  const r = parsePlain(buffered, at, false, opts, progress);
  if (r.kind === 'more' && buffered.length - at > (opts.maxFrameBytes ?? MAX_STREAM_FRAME_BYTES))
    return error('TOO_LARGE', 'stream frame too large');
  return r;
}

/** A plaintext frame at `at`; `complete` = the buffer holds everything (so `more` is final). */
function parsePlain(
  buf: Uint8Array,
  at: number,
  complete: boolean,
  opts: StreamParseOptions,
  progress?: StreamProgress,
): StreamParse {
  const t = buf[at];
  if (t === undefined) return complete ? error('EMPTY', 'empty frame') : MORE;
  if (t === MessageType.compress) {
    const m = measure(buf, at + 1);
    if (!m.ok) {
      if (m.code === 'INCOMPLETE') return complete ? error('TRUNCATED', 'compress wrapper') : MORE;
      return error(m.code, m.detail);
    }
    const d = decompressMessage(buf, at + 1, opts.maxDecompressed ?? MAX_DECOMPRESSED_BYTES);
    if (!d.ok) return error(d.code, d.detail);
    if (d.payload[0] === MessageType.compress || d.payload[0] === MessageType.encrypt)
      return error('UNSUPPORTED_TYPE', `msg type (${d.payload[0]}) inside a compressed stream frame`);
    const inner = parseBody(d.payload, 0, true);
    if (inner.kind === 'more') return error('TRUNCATED', 'compressed frame ends inside its message');
    if (inner.kind === 'error') return inner;
    return { ...inner, consumed: d.end, compressed: true };
  }
  const r = parseBody(buf, at, complete, progress);
  if (r.kind === 'more' && complete) return error('TRUNCATED', 'frame ends inside its message');
  return r;
}

/** Resolves a codec Decoded, turning TRUNCATED into `more` while the stream may still grow. */
function step<T>(r: Decoded<T>, complete: boolean): { ok: true; value: T; end: number } | StreamParse {
  if (r.ok) return r;
  return r.code === 'TRUNCATED' && !complete ? MORE : error((r as CodecError).code, r.detail);
}

function frame(value: StreamFrame, consumed: number): StreamParse {
  return { kind: 'frame', value, consumed, compressed: false, encrypted: false };
}

/** A frame of an unwrapped type (6, 0, 2, 13, 8) at `at`. */
function parseBody(buf: Uint8Array, at: number, complete: boolean, progress?: StreamProgress): StreamParse {
  const t = buf[at];
  if (t === undefined) return complete ? error('EMPTY', 'empty frame') : MORE;
  const p = at + 1;
  // Measure before decoding so an incomplete object is `more`, not a decode error.
  const whole = (): StreamParse | null => {
    const m = measure(buf, p);
    if (m.ok) return null;
    if (m.code === 'INCOMPLETE') return complete ? error('TRUNCATED', 'message') : MORE;
    return error(m.code, m.detail);
  };
  switch (t) {
    case MessageType.ping:
    case MessageType.ackResp:
    case MessageType.err: {
      const w = whole();
      if (w !== null) return w;
      if (t === MessageType.ping) {
        const r = step(readPing(buf, p), complete);
        return 'kind' in r ? r : frame({ type: 'ping', value: r.value }, r.end);
      }
      if (t === MessageType.ackResp) {
        const r = step(readAckResp(buf, p), complete);
        return 'kind' in r ? r : frame({ type: 'ackResp', value: r.value }, r.end);
      }
      const r = step(readErrResp(buf, p), complete);
      return 'kind' in r ? r : frame({ type: 'err', value: r.value }, r.end);
    }
    case MessageType.user: {
      const w = whole();
      if (w !== null) return w;
      const h = step(readUserMsgHeader(buf, p), complete);
      if ('kind' in h) return h;
      const end = h.end + h.value.userMsgLen;
      if (end > buf.length) return complete ? error('TRUNCATED', 'user message') : MORE;
      return frame({ type: 'user', value: buf.slice(h.end, end) }, end);
    }
    case MessageType.pushPull: {
      // Resume where the previous call on this (append-only) stream stopped, if it got this far.
      let pp = progress?.pushPull;
      if (pp === undefined || pp.at !== p) {
        const w = whole();
        if (w !== null) return w;
        const h = step(readPushPullHeader(buf, p), complete);
        if ('kind' in h) return h;
        pp = { at: p, header: h.value, states: [], next: h.end };
        if (progress !== undefined) progress.pushPull = pp;
      }
      const { header } = pp;
      while (pp.states.length < header.nodes) {
        const m = measure(buf, pp.next);
        if (!m.ok) {
          if (m.code === 'INCOMPLETE')
            return complete ? error('TRUNCATED', `push/pull state ${pp.states.length}`) : MORE;
          return error(m.code, m.detail);
        }
        const s = readPushNodeState(buf, pp.next);
        if (!s.ok) return error(s.code, `state ${pp.states.length}: ${s.detail}`);
        pp.states.push(s.value);
        pp.next = s.end;
      }
      const q = pp.next;
      const end = q + header.userStateLen;
      if (end > buf.length) return complete ? error('TRUNCATED', 'push/pull user state') : MORE;
      return frame(
        {
          type: 'pushPull',
          value: { join: header.join, states: [...pp.states], userState: buf.slice(q, end) },
        },
        end,
      );
    }
    default:
      return t <= MessageType.err
        ? error('UNSUPPORTED_TYPE', `msg type (${t}) not supported on a stream`)
        : error('UNKNOWN_TYPE', `msg type (${t}) not supported`);
  }
}

export interface StreamEncodeOptions {
  /** Compress the frame (memberlist EnableCompression; always, on streams). */
  compress?: boolean;
  cipher?: Cipher;
  /** The label: written as a header only when `dialling` (the responder never writes one). */
  label?: string | Uint8Array;
  dialling?: boolean;
}

/** The bare frame bytes: [type] + body. */
export function encodeFrameBody(frame: StreamFrame): Uint8Array {
  const w = new MsgpackWriter(frame.type === 'pushPull' ? 200 * (frame.value.states.length + 1) : 64);
  switch (frame.type) {
    case 'pushPull':
      w.byte(MessageType.pushPull);
      writePushPull(w, frame.value);
      break;
    case 'ping':
      w.byte(MessageType.ping);
      writePing(w, frame.value);
      break;
    case 'ackResp':
      w.byte(MessageType.ackResp);
      writeAckResp(w, frame.value);
      break;
    case 'err':
      w.byte(MessageType.err);
      writeErrResp(w, frame.value);
      break;
    case 'user':
      w.byte(MessageType.user);
      writeUserMsgHeader(w, { userMsgLen: frame.value.length });
      w.raw(frame.value);
      break;
  }
  return w.finish();
}

/** A whole outgoing stream frame: body → compress → encrypt → label header (dialling side). */
export function encodeStreamFrame(frame: StreamFrame, opts: StreamEncodeOptions = {}): Uint8Array {
  let out = encodeFrameBody(frame);
  if (opts.compress) out = compressMessage(out);
  const label = labelBytes(opts.label ?? '');
  if (opts.cipher !== undefined) {
    const len = opts.cipher.sealedLength(out.length);
    const head = new Uint8Array([
      MessageType.encrypt,
      len >>> 24,
      (len >>> 16) & 0xff,
      (len >>> 8) & 0xff,
      len & 0xff,
    ]);
    const ad = new Uint8Array(5 + label.length);
    ad.set(head);
    ad.set(label, 5);
    const sealed = opts.cipher.seal(out, ad);
    out = new Uint8Array(5 + sealed.length);
    out.set(head);
    out.set(sealed, 5);
  }
  if (opts.dialling) {
    const h = labelHeader(label);
    if (h.length > 0) {
      const withLabel = new Uint8Array(h.length + out.length);
      withLabel.set(h);
      withLabel.set(out, h.length);
      out = withLabel;
    }
  }
  return out;
}
