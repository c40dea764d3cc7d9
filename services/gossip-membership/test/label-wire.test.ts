// Labels through the driver's codec (runtime/wire-memberlist.ts): what a labelled node sends, what it
// accepts (memberlist's rule, its SkipInboundLabelCheck, and the lenient rule of --label-migration), the label as the
// encryption's additional data, and the per-stream reply label.
import { describe, expect, it } from 'vitest';
import { Keyring } from '../src/keyring/keyring.js';
import { profileConfig } from '../src/protocol/config.js';
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
  ])('with labelMigration, %s: accepted=%s, encrypted too', (_what, sender, receiver, accepted) => {
    const keyring = ring();
    const bytes = one(codec({ label: sender, keyring }).encodePacket([ack], false));
    const r = codec({ label: receiver, keyring, labelMigration: true }).decodePacket(bytes);
    expect(r.ok).toBe(accepted);
  });

  // memberlist net.go ingestPacket / handleConn with SkipInboundLabelCheck: a header that is still
  // there is a "double label" and dropped; no header = our label, also as the encryption's data.
  it.each<[string, string, boolean, string, boolean, string | undefined]>([
    ['labelled packet (same label) is a double label', 'fleet', false, 'fleet', false, 'label'],
    ['labelled packet at an unlabelled node', 'fleet', false, '', false, 'label'],
    ['header removed in front of us, sealed with our label', 'fleet', true, 'fleet', true, undefined],
    ['unlabelled, sealed without a label, at a labelled node', '', false, 'fleet', false, 'decrypt'],
    ['unlabelled at an unlabelled node', '', false, '', true, undefined],
  ])(
    'with skipInboundLabelCheck (memberlist), %s',
    (_what, sender, stripHeader, receiver, accepted, reason) => {
      const keyring = ring();
      let bytes = one(codec({ label: sender, keyring }).encodePacket([ack], false));
      if (stripHeader) bytes = bytes.subarray(2 + Buffer.byteLength(sender));
      const r = codec({ label: receiver, keyring, skipInboundLabelCheck: true }).decodePacket(bytes);
      expect(r.ok).toBe(accepted);
      if (!r.ok) expect(r.reason).toBe(reason);
    },
  );

  it('with skipInboundLabelCheck a plaintext unlabelled packet is accepted by a labelled node, and we still send labelled', () => {
    const c = codec({ label: 'fleet', skipInboundLabelCheck: true });
    expect(c.decodePacket(one(codec().encodePacket([ack], false))).ok).toBe(true);
    expect(c.decodePacket(one(codec({ label: 'fleet' }).encodePacket([ack], false)))).toMatchObject({
      ok: false,
      reason: 'label',
    });
    expect(one(c.encodePacket([ack], false))[0]).toBe(244);
  });

  it('with skipInboundLabelCheck an inbound stream that starts with a label header is refused', () => {
    const c = codec({ label: 'fleet', skipInboundLabelCheck: true });
    const labelled = codec({ label: 'fleet' }).encodeStream({ type: 'ping', value: { seqNo: 1, node: 'x' } });
    expect(c.parseStream(labelled)).toMatchObject({ kind: 'error' });
    const bare = codec().encodeStream({ type: 'ping', value: { seqNo: 1, node: 'x' } });
    expect(c.parseStream(bare)).toMatchObject({ kind: 'frame', value: { type: 'ping' } });
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
      codec({ keyring, labelMigration: true }),
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
