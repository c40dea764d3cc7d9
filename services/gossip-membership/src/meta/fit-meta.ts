// Keeps node meta within memberlist's 512 bytes (NODE_META_MAX_BYTES) by leaving out the least
// important fields first. Every field has a length limit in the schema, but their sum, with
// multi-byte text (a device-tree model is free text), can pass 512; then, in this order:
//   1. hw.power (the nvpmodel name)       2. the rest of hw (live tegrastats facts)
//   3. labels.board (the board model)      4. labels.gpu
// What remains (role, api, ver, arch, l4t, load) always fits: test/node-meta.test.ts encodes the
// maximal one. Pure.
import { NODE_META_MAX_BYTES, type NodeMeta } from '@edgefleet/contracts';

const size = (meta: NodeMeta): number => Buffer.byteLength(JSON.stringify(meta), 'utf8');

const DROPS: ((m: NodeMeta) => NodeMeta)[] = [
  (m) => (m.hw?.power === undefined ? m : { ...m, hw: { ...m.hw, power: undefined } }),
  ({ hw: _hw, ...m }) => m,
  (m) => ({ ...m, labels: { ...m.labels, board: undefined } }),
  (m) => ({ ...m, labels: { ...m.labels, gpu: undefined } }),
];

/** `meta` itself when it fits; else a copy without the fewest least-important fields that fits. */
export function fitNodeMeta(meta: NodeMeta): NodeMeta {
  let m = meta;
  for (const drop of DROPS) {
    if (size(m) <= NODE_META_MAX_BYTES) return m;
    // JSON.stringify leaves out undefined values, so a dropped field costs no bytes.
    m = drop(m);
  }
  return m;
}
