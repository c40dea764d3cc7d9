// Codec micro-benchmark: encode/decode ops/s for the messages that dominate the wire (alive
// gossip, ping) and a 50-node push/pull frame, through the memberlist codec and, for comparison
// in the same run, JSON (the naive baseline: what the test codec does). Also the UDP receive path
// (CRC + compound) and LZW. Run: pnpm --filter @edgefleet/gossip-membership bench:codec
import { emitBenchSection } from '@edgefleet/testkit';
import type { Message, PushPull } from '../src/protocol/messages.js';
import { decodeMessage, encodeMessage, type WireMessage } from '../src/wire/codec.js';
import { lzwCompress, lzwDecompress } from '../src/wire/lzw.js';
import { decodePacket, encodePacket } from '../src/wire/packet.js';
import { encodeStreamFrame, parseStreamFrame } from '../src/wire/stream.js';

const vsn = new Uint8Array([1, 5, 2, 0, 0, 0]);
const alive: Message = {
  type: 'alive',
  body: {
    incarnation: 42,
    node: 'jetson-orin-0042',
    addr: new Uint8Array([10, 1, 2, 42]),
    port: 7946,
    meta: new TextEncoder().encode('{"gpu":"orin","mem":8192,"labels":["cam"]}'),
    vsn,
  },
};
const ping: Message = {
  type: 'ping',
  body: {
    seqNo: 123456,
    node: 'jetson-orin-0007',
    sourceAddr: new Uint8Array([10, 1, 2, 42]),
    sourcePort: 7946,
    sourceNode: 'jetson-orin-0042',
  },
};
const pushPull: PushPull = {
  join: false,
  states: Array.from({ length: 50 }, (_, i) => ({
    name: `jetson-orin-${String(i).padStart(4, '0')}`,
    addr: new Uint8Array([10, 1, 2, i]),
    port: 7946,
    meta: new TextEncoder().encode(`{"gpu":"orin","mem":8192,"i":${i}}`),
    incarnation: 1000 + i,
    state: i % 10 === 0 ? 1 : 0,
    vsn,
  })),
  userState: new Uint8Array(0),
};
const pp: WireMessage = { type: 'pushPull', body: pushPull };

const json = (m: unknown) =>
  JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));

function bench(name: string, fn: () => unknown, minMs = 400): { name: string; opsPerSec: number } {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { name, opsPerSec: Math.round((n / elapsed) * 1000) };
}

const aliveBytes = encodeMessage(alive);
const pingBytes = encodeMessage(ping);
const ppBytes = encodeMessage(pp);
const ppJson = json(pp);
const gossipPacket = encodePacket([ping, ...Array.from({ length: 8 }, () => alive)], {
  crc: true,
})[0] as Uint8Array;
const ppStream = encodeStreamFrame({ type: 'pushPull', value: pushPull }, { compress: true });
const ppLzw = lzwCompress(ppBytes);

const rows = [
  bench(`alive encode (${aliveBytes.length} B)`, () => encodeMessage(alive)),
  bench('alive decode', () => decodeMessage(aliveBytes)),
  bench(`  JSON alive stringify (${json(alive).length} B)`, () => json(alive)),
  bench('  JSON alive parse', () => JSON.parse(json(alive))),
  bench(`ping encode (${pingBytes.length} B)`, () => encodeMessage(ping)),
  bench('ping decode', () => decodeMessage(pingBytes)),
  bench(`pushPull 50 nodes encode (${ppBytes.length} B)`, () => encodeMessage(pp)),
  bench('pushPull 50 nodes decode', () => decodeMessage(ppBytes)),
  bench(`  JSON pushPull stringify (${ppJson.length} B)`, () => json(pp)),
  bench('  JSON pushPull parse', () => JSON.parse(ppJson)),
  bench(`UDP packet decode: CRC + compound of 9 (${gossipPacket.length} B)`, () =>
    decodePacket(gossipPacket),
  ),
  bench(`stream pushPull 50 compressed parse (${ppStream.length} B)`, () => parseStreamFrame(ppStream)),
  bench(`LZW compress pushPull (${ppBytes.length} → ${ppLzw.length} B)`, () => lzwCompress(ppBytes)),
  bench('LZW decompress pushPull', () => lzwDecompress(ppLzw)),
];

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'operation'.padEnd(width)}  ops/s`);
console.log(`${'-'.repeat(width)}  ----------`);
for (const r of rows)
  console.log(`${r.name.padEnd(width)}  ${r.opsPerSec.toLocaleString('en-US').padStart(10)}`);

emitBenchSection({
  id: 'gossip-codec',
  title: 'gossip-membership: wire codec',
  command: 'pnpm --filter @edgefleet/gossip-membership bench:codec',
  intro:
    'Encode/decode rate of the messages that dominate the wire (alive gossip, ping) and of a 50-node ' +
    'push/pull, through the memberlist codec (msgpack as Go writes it) and, in the same run, JSON as the ' +
    `naive baseline; then the UDP receive path (CRC + compound), a compressed push/pull stream frame and LZW. ` +
    `One thread, ≥ 400 ms per row after a warm-up, node ${process.version}.`,
  tables: [
    {
      header: ['operation', 'ops/s'],
      rows: rows.map((r) => [r.name.trim(), r.opsPerSec.toLocaleString('en-US')]),
      note: 'Rows starting with JSON are the baseline for the row above them, not a path the node uses.',
    },
  ],
});
