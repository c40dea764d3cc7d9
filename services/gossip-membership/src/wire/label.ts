// memberlist's label header (≥ 0.3.0; label.go, transport.go labelWrappedTransport):
//
//   [244][len: 1 byte, 1..255][label bytes]   then the packet, or the rest of the stream.
//
// On UDP it is the outermost prefix of a packet (outside the encryption; the label is also the
// AES-GCM additional data). On TCP only the DIALLING side writes it, once, at the start of the
// stream; the responder never does. An empty label means no header at all (bytes identical to
// memberlist 0.2.2, which drops labelled traffic). A header that is present must carry ≥ 1 byte.
//
// Receive rule (net.go ingestPacket / handleConn): the label found ('' when there is no header)
// must equal the configured label, else the packet/stream is dropped. With
// SkipInboundLabelCheck an unlabelled input is taken as carrying the configured label and a
// present header is refused.
// (memberlist net.go ingestPacket / handleConn; edgefleet's --skip-inbound-label-check.)
// Lenient rule (edgefleet's --label-migration, for moving a RUNNING cluster on or off a
// label): an empty label on either side matches any, i.e. an unlabelled input is accepted by a
// labelled node and a labelled input by an unlabelled node; two different non-empty labels never
// match. The label to authenticate with is then the one found on the wire (what the sender sealed
// with), not the configured one. memberlist has no such mode: its SkipInboundLabelCheck is for
// transports that strip the header themselves.
// Codes: TRUNCATED (header cut short), EMPTY_LABEL (length byte 0), LABEL_MISMATCH.

const HAS_LABEL_TYPE = 244;
export const LABEL_MAX_BYTES = 255;

const utf8 = new TextEncoder();

/** A label as bytes (strings are UTF-8); throws RangeError over 255 bytes (a configuration error). */
export function labelBytes(label: string | Uint8Array): Uint8Array {
  const b = typeof label === 'string' ? utf8.encode(label) : label;
  if (b.length > LABEL_MAX_BYTES)
    throw new RangeError(`label of ${b.length} bytes exceeds ${LABEL_MAX_BYTES}`);
  return b;
}

/** Bytes a label adds to every packet: 0 without a label, else 2 + length. */
export function labelOverhead(label: string | Uint8Array): number {
  const n = labelBytes(label).length;
  return n === 0 ? 0 : 2 + n;
}

/** The header alone ([244][len][label]), empty for an empty label: the stream prefix. */
export function labelHeader(label: string | Uint8Array): Uint8Array {
  const b = labelBytes(label);
  if (b.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(2 + b.length);
  out[0] = HAS_LABEL_TYPE;
  out[1] = b.length;
  out.set(b, 2);
  return out;
}

/** Prefixes a packet with its label header (unchanged for an empty label). */
export function addLabel(packet: Uint8Array, label: string | Uint8Array): Uint8Array {
  const h = labelHeader(label);
  if (h.length === 0) return packet;
  const out = new Uint8Array(h.length + packet.length);
  out.set(h);
  out.set(packet, h.length);
  return out;
}

type LabelErrorCode = 'TRUNCATED' | 'EMPTY_LABEL' | 'LABEL_MISMATCH';
export type LabelSplit =
  | { ok: true; label: Uint8Array; present: boolean; rest: Uint8Array }
  | { ok: false; code: LabelErrorCode; detail: string };

/** Splits a label header off a packet (label.go RemoveLabelHeaderFromPacket). Views, no copies. */
export function removeLabel(packet: Uint8Array): LabelSplit {
  if (packet[0] !== HAS_LABEL_TYPE)
    return { ok: true, label: new Uint8Array(0), present: false, rest: packet };
  if (packet.length < 2) return { ok: false, code: 'TRUNCATED', detail: 'label header truncated' };
  const size = packet[1] ?? 0;
  if (size < 1)
    return { ok: false, code: 'EMPTY_LABEL', detail: 'label header cannot be empty when present' };
  if (packet.length < 2 + size) return { ok: false, code: 'TRUNCATED', detail: 'label truncated' };
  return { ok: true, label: packet.subarray(2, 2 + size), present: true, rest: packet.subarray(2 + size) };
}

export type StreamLabel =
  | { kind: 'more' }
  | { kind: 'label'; label: Uint8Array; present: boolean; consumed: number }
  | { kind: 'error'; code: LabelErrorCode; detail: string };

/**
 * The label at the start of a stream, incrementally: `more` until the header (if any) is complete.
 * `consumed` = header bytes to skip (0 without a header).
 */
export function readStreamLabel(buffered: Uint8Array): StreamLabel {
  if (buffered.length === 0) return { kind: 'more' };
  if (buffered[0] !== HAS_LABEL_TYPE)
    return { kind: 'label', label: new Uint8Array(0), present: false, consumed: 0 };
  if (buffered.length < 2) return { kind: 'more' };
  const size = buffered[1] ?? 0;
  if (size < 1)
    return { kind: 'error', code: 'EMPTY_LABEL', detail: 'label header cannot be empty when present' };
  if (buffered.length < 2 + size) return { kind: 'more' };
  return { kind: 'label', label: buffered.subarray(2, 2 + size), present: true, consumed: 2 + size };
}

export interface LabelPolicy {
  /** The configured label ('' = none). */
  label: string | Uint8Array;
  /** memberlist SkipInboundLabelCheck. */
  skipInboundCheck?: boolean;
  /** The lenient rule above (takes precedence over skipInboundCheck). */
  lenient?: boolean;
}

/**
 * Applies the receive rule; on success returns the label to use as additional data for decryption
 * (the configured one; with `lenient`, the one found).
 */
export function checkLabel(
  found: Uint8Array,
  present: boolean,
  policy: LabelPolicy,
): { ok: true; label: Uint8Array } | { ok: false; code: 'LABEL_MISMATCH'; detail: string } {
  const want = labelBytes(policy.label);
  if (policy.lenient) {
    if (!present || want.length === 0) return { ok: true, label: found };
    if (found.length !== want.length || found.some((b, i) => b !== want[i]))
      return { ok: false, code: 'LABEL_MISMATCH', detail: 'unacceptable label' };
    return { ok: true, label: want };
  }
  if (policy.skipInboundCheck) {
    if (present) return { ok: false, code: 'LABEL_MISMATCH', detail: 'unexpected label header' };
    return { ok: true, label: want };
  }
  if (found.length !== want.length || found.some((b, i) => b !== want[i]))
    return { ok: false, code: 'LABEL_MISMATCH', detail: 'unacceptable label' };
  return { ok: true, label: want };
}
