// A deliberately simple WireCodec (JSON, byte fields as base64, streams length-prefixed) that lets the
// driver's wiring be tested between TypeScript nodes independently of the memberlist codec.
import type { Message } from '../../src/protocol/messages.js';
import type { StreamFrame, WireCodec } from '../../src/runtime/wire.js';

const replacer = (_k: string, v: unknown) =>
  v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64') } : v;
const reviver = (_k: string, v: unknown) =>
  v && typeof v === 'object' && '$b' in v
    ? new Uint8Array(Buffer.from((v as { $b: string }).$b, 'base64'))
    : v;

export const jsonCodec: WireCodec = {
  encodePacket: (messages) => [Buffer.from(JSON.stringify({ m: messages }, replacer))],
  decodePacket(bytes) {
    try {
      const v = JSON.parse(Buffer.from(bytes).toString(), reviver) as { m?: Message[] };
      if (!Array.isArray(v.m)) return { ok: false, reason: 'decode', detail: 'no messages' };
      return { ok: true, messages: v.m };
    } catch (e) {
      return { ok: false, reason: 'decode', detail: (e as Error).message };
    }
  },
  encodeStream(frame) {
    const body = Buffer.from(JSON.stringify(frame, replacer));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  },
  parseStream(buf) {
    if (buf.length < 4) return { kind: 'more' };
    const len = Buffer.from(buf.buffer, buf.byteOffset, 4).readUInt32BE(0);
    if (len > 1 << 20) return { kind: 'error', reason: 'frame too large' };
    if (buf.length < 4 + len) return { kind: 'more' };
    try {
      return {
        kind: 'frame',
        value: JSON.parse(Buffer.from(buf.subarray(4, 4 + len)).toString(), reviver) as StreamFrame,
      };
    } catch (e) {
      return { kind: 'error', reason: (e as Error).message };
    }
  },
};
