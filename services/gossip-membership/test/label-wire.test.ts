// Labels through the driver's codec (runtime/wire-memberlist.ts): what a labelled node sends, what it
// accepts (memberlist's rule, and the lenient rule of --skip-inbound-label-check), the label as the
// encryption's additional data, and the per-stream reply label.
import { describe, expect, it } from 'vitest';
import { profileConfig } from '../src/protocol/config.js';
import { Keyring } from '../src/protocol/keyring.js';
import type { Message } from '../src/protocol/messages.js';
import { createMemberlistCodec, type MemberlistCodecOptions } from '../src/runtime/wire-memberlist.js';

const protocol = profileConfig('local');
const ring = () => {
  const r = Keyring.create([new Uint8Array(16).fill(4)]);
  if (!r.ok) throw new Error(r.detail);
  return r.keyring;
};
const codec = (o: MemberlistCodecOptions = {}) => createMemberlistCodec(protocol, o);
const ack: Message = { type: 'ackResp', body: { seqNo: 7, payload: null } };
const one = (bytes: Uint8Array[]) => bytes[0] as Uint8Array;

describe('labels in the memberlist codec', () => {
  it('prefixes every packet and every dialled stream, and budgets the header', () => {
    const c = codec({ label: 'fleet' });
    const p = one(c.encodePacket([ack], false));
    expect([...p.subarray(0, 7)]).toEqual([244, 5, ...Buffer.from('fleet')]);
    const s = c.encodeStream({ type: 'ping', value: { seqNo: 1, node: 'x' } });
    expect([...s.subarray(0, 7)]).toEqual([244, 5, ...Buffer.from('fleet')]);
    expect(c.packetOverhead).toBe(7);
    expect(codec().packetOverhead).toBe(0);
  });

  it.each([
    ['same label', 'fleet', 'fleet', true],
    ['other label', 'fleet', 'other', false],
    ['unlabelled sender', '', 'fleet', false],
    ['labelled sender, unlabelled node', 'fleet', '', false],
    ['neither labelled', '', '', true],
  ])('%s: accepted=%s (memberlist rule)', (_what, sender, receiver, accepted) => {
    const bytes = one(codec({ label: sender }).encodePacket([ack], false));
    const r = codec({ label: receiver }).decodePacket(bytes);
    expect(r.ok).toBe(accepted);
    if (!r.ok) expect(r.reason).toBe('label');
  });

  it.each([
    ['unlabelled sender at a labelled node', '', 'fleet', true],
    ['labelled sender at an unlabelled node', 'fleet', '', true],
    ['same label', 'fleet', 'fleet', true],
    ['different labels still never match', 'fleet', 'other', false],
  ])('with skipInboundLabelCheck, %s: accepted=%s, encrypted too', (_what, sender, receiver, accepted) => {
    const keyring = ring();
    const bytes = one(codec({ label: sender, keyring }).encodePacket([ack], false));
    const r = codec({ label: receiver, keyring, skipInboundLabelCheck: true }).decodePacket(bytes);
    expect(r.ok).toBe(accepted);
  });

  it('the label is the encryption additional data: a rewritten label fails even with the right key', () => {
    const keyring = ring();
    const bytes = one(codec({ label: 'aaaa', keyring }).encodePacket([ack], false));
    const forged = Uint8Array.from(bytes);
    forged.set(Buffer.from('bbbb'), 2);
    const r = codec({ label: 'bbbb', keyring }).decodePacket(forged);
    expect(r).toMatchObject({ ok: false, reason: 'decrypt' });
    expect(codec({ label: 'aaaa', keyring }).decodePacket(bytes).ok).toBe(true);
  });

  it('streams: a labelled request is answered without a header, sealed with the stream label', () => {
    const keyring = ring();
    const dialler = codec({ label: 'fleet', keyring });
    const request = dialler.encodeStream({ type: 'ping', value: { seqNo: 3, node: 'b' } });
    for (const responder of [
      codec({ label: 'fleet', keyring }),
      // lenient and unlabelled: the reply must still be sealed with the dialler's label
      codec({ keyring, skipInboundLabelCheck: true }),
    ]) {
      const inbound = responder.inboundStream?.();
      if (!inbound) throw new Error('inboundStream missing');
      expect(inbound.parse(request)).toMatchObject({ kind: 'frame', value: { type: 'ping' } });
      const reply = inbound.encodeReply({ type: 'ackResp', value: { seqNo: 3, payload: null } });
      expect(reply[0]).toBe(10); // encrypted frame, no label header
      expect(dialler.parseReply?.(reply)).toMatchObject({ kind: 'frame', value: { type: 'ackResp' } });
    }
    const other = codec({ label: 'other', keyring }).inboundStream?.();
    expect(other?.parse(request)).toMatchObject({ kind: 'error', reason: /^LABEL_MISMATCH/ });
  });
});
