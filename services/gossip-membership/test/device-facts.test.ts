// Device facts in node meta: tegrastats lines recorded from several JetPack releases (fixtures),
// nvpmodel output, the board model and L4T release from files at settable paths, the re-broadcast
// policy for live values, and the 512-byte limit in the worst case (fields dropped by priority).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNodeMeta, NODE_META_MAX_BYTES, type NodeMeta } from '@edgefleet/contracts';
import { describe, expect, it } from 'vitest';
import { buildNodeMeta } from '../src/meta/build-meta.js';
import { detectDeviceLabels, parseBoardModel, parseL4tRelease } from '../src/meta/device-labels.js';
import { fitNodeMeta } from '../src/meta/fit-meta.js';
import { isMeaningfulChange } from '../src/meta/meta-policy.js';
import { parseNvpmodelQuery, parseTegrastatsLine, type TegraSample } from '../src/meta/tegrastats-parse.js';

const fixture = (name: string): string[] =>
  readFileSync(fileURLToPath(new URL(`fixtures/tegrastats/${name}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

describe('parseTegrastatsLine on recorded formats', () => {
  it.each<[string, TegraSample[]]>([
    [
      'l4t28-tx1.txt',
      [
        { ramMiB: 3468, ramTotalMiB: 3983, gpuPct: 3 },
        { ramMiB: 3607, ramTotalMiB: 3983, gpuPct: 39 },
      ],
    ],
    [
      'l4t32-nano.txt',
      [
        { ramMiB: 1180, ramTotalMiB: 3965, gpuPct: 0, tempC: 59 },
        { ramMiB: 1766, ramTotalMiB: 3964, gpuPct: 46, tempC: 23.5 },
      ],
    ],
    [
      // Second line: GPU@-51C is a sensor that is off, tj absent → the `thermal` zone.
      'l4t32-xavier-tx2.txt',
      [
        { ramMiB: 1723, ramTotalMiB: 15692, gpuPct: 0, tempC: 35.5 },
        { ramMiB: 4722, ramTotalMiB: 7844, gpuPct: 88, tempC: 46.4 },
      ],
    ],
    [
      // First line: GPU@-256C (power-gated sensor) → tj.
      'l4t35-orin-agx.txt',
      [
        { ramMiB: 3040, ramTotalMiB: 30536, gpuPct: 0, tempC: 45.9 },
        { ramMiB: 9211, ramTotalMiB: 30536, gpuPct: 97, tempC: 57.3 },
      ],
    ],
    [
      'l4t36-orin-nano.txt',
      [
        { ramMiB: 2530, ramTotalMiB: 7620, gpuPct: 0, tempC: 46.9 },
        { ramMiB: 5874, ramTotalMiB: 7620, gpuPct: 73, tempC: 61.1 },
      ],
    ],
  ])('%s', (file, expected) => {
    expect(fixture(file).map(parseTegrastatsLine)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['text', 'hello world'],
    ['usage text', 'Usage: tegrastats [-option]'],
    ['RAM without numbers', 'RAM abc/defMB GR3D_FREQ 10%'],
    ['used above total', 'RAM 9000/4000MB GR3D_FREQ 10%'],
    ['zero total', 'RAM 0/0MB'],
    ['binary', '\u0000\u00ff\u00feRAM\u0007'],
  ])('not tegrastats output (%s) → undefined', (_name, line) => {
    expect(parseTegrastatsLine(line)).toBeUndefined();
  });

  it('out-of-range values are left out, not zeroed', () => {
    expect(parseTegrastatsLine('RAM 100/200MB GR3D_FREQ 250% GPU@-256C tj@999C')).toEqual({
      ramMiB: 100,
      ramTotalMiB: 200,
    });
  });
});

describe('parseNvpmodelQuery', () => {
  it.each([
    ['NV Power Mode: MAXN\n0\n', 'MAXN'],
    ['NV Power Mode: 15W\n1\n', '15W'],
    ['NVPM WARN: fan mode is not set!\nNV Power Mode: MODE_30W_ALL\n3\n', 'MODE_30W_ALL'],
    ['MAXN_SUPER\n', 'MAXN_SUPER'],
    ['', undefined],
    ['NVPM ERROR: failed to read PARAM CPU_ONLINE', undefined],
  ])('%j → %s', (text, mode) => {
    expect(parseNvpmodelQuery(text)).toBe(mode);
  });
});

describe('board model and L4T release from files', () => {
  it('parses the release line of JetPack 5 and 6', () => {
    expect(
      parseL4tRelease('# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64\n'),
    ).toBe('36.4.0');
    expect(parseL4tRelease('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref\n')).toBe(
      '35.4.1',
    );
    expect(parseL4tRelease('garbage')).toBeUndefined();
  });

  it('reads the NUL-terminated device-tree model, cut to 80 characters', () => {
    expect(parseBoardModel('NVIDIA Jetson AGX Orin Developer Kit\0')).toBe(
      'NVIDIA Jetson AGX Orin Developer Kit',
    );
    expect(parseBoardModel('\0\0')).toBeUndefined();
    const long = parseBoardModel(`NVIDIA Jetson ${'X'.repeat(100)}\0`);
    expect(long).toHaveLength(80);
  });

  it('reads both files from settable paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-dev-'));
    writeFileSync(join(dir, 'rel'), '# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic\n');
    writeFileSync(join(dir, 'model'), 'NVIDIA Jetson Orin Nano Developer Kit\0');
    expect(
      detectDeviceLabels({}, { l4tReleaseFile: join(dir, 'rel'), modelFile: join(dir, 'model') }),
    ).toEqual({
      arch: process.arch,
      l4t: '36.4.0',
      gpu: 'Jetson Orin Nano',
      board: 'NVIDIA Jetson Orin Nano Developer Kit',
    });
    // Missing files: the labels are absent.
    expect(
      detectDeviceLabels({}, { l4tReleaseFile: join(dir, 'none'), modelFile: join(dir, 'none') }),
    ).toEqual({
      arch: process.arch,
    });
  });
});

describe('meta with device facts', () => {
  const base: NodeMeta = {
    v: 1,
    role: 'edge',
    api: 'http://10.0.0.7:4100',
    ver: '0.1.0',
    labels: {
      arch: 'arm64',
      l4t: '36.4.0',
      gpu: 'Jetson AGX Orin',
      board: 'NVIDIA Jetson AGX Orin Developer Kit',
    },
    load: { running: 1, queued: 0, freeDiskMiB: 50_000, at: 1 },
    hw: { gpuPct: 37, tempC: 51.5, power: 'MAXN', ramMiB: 9211, ramTotalMiB: 30536 },
  };

  it('a typical meta with every device fact is about 320 bytes and round-trips', () => {
    const bytes = encodeNodeMeta(base);
    expect(bytes.length).toBeLessThan(340);
    expect(fitNodeMeta(base)).toBe(base);
  });

  it('without tegrastats the live fields are absent, not zero', () => {
    const meta = buildNodeMeta(
      { role: 'edge', version: '0.1.0', labels: { arch: 'arm64' } },
      undefined,
      undefined,
    );
    expect(meta).not.toHaveProperty('hw');
    expect(JSON.stringify(meta)).not.toMatch(/gpuPct|tempC|ramMiB/);
  });

  it('worst case: every field at its longest, multi-byte text, still encodes within 512 bytes, dropping by priority', () => {
    const worst: NodeMeta = {
      v: 1,
      role: 'server',
      api: `http://${'a'.repeat(89)}`,
      ver: 'v'.repeat(32),
      labels: { arch: 'x'.repeat(32), l4t: 'l'.repeat(32), gpu: '€'.repeat(48), board: '€'.repeat(80) },
      load: {
        running: 2 ** 31,
        queued: 2 ** 31,
        freeDiskMiB: Number.MAX_SAFE_INTEGER,
        at: Number.MAX_SAFE_INTEGER,
      },
      hw: { gpuPct: 100, tempC: -39.9, power: 'p'.repeat(24), ramMiB: 2 ** 40, ramTotalMiB: 2 ** 40 },
    };
    const fitted = buildNodeMeta(
      { role: worst.role, api: worst.api as string, version: worst.ver, labels: worst.labels },
      {
        running: 2 ** 31,
        queued: 2 ** 31,
        freeDiskBytes: Number.MAX_SAFE_INTEGER,
        updatedAt: Number.MAX_SAFE_INTEGER,
      },
      worst.hw,
    );
    const bytes = encodeNodeMeta(fitted);
    expect(bytes.length).toBeLessThanOrEqual(NODE_META_MAX_BYTES);
    // The core and the load stay; the least important went first (power, hw, board, then gpu).
    expect(fitted).toMatchObject({
      role: 'server',
      api: worst.api,
      ver: worst.ver,
      load: { running: 2 ** 31 },
    });
    expect(fitted.labels).toMatchObject({ arch: worst.labels.arch, l4t: worst.labels.l4t });
    expect(fitted.hw).toBeUndefined();
    expect(fitted.labels.board).toBeUndefined();
  });

  it('drops only as much as needed: the power mode first, then the rest of hw, keeping the board', () => {
    const size = (x: NodeMeta) => Buffer.byteLength(JSON.stringify(x));
    const long = (board: string): NodeMeta => ({
      ...base,
      api: `http://${'a'.repeat(89)}`,
      ver: 'v'.repeat(32),
      labels: { arch: 'x'.repeat(32), l4t: 'l'.repeat(32), gpu: 'g'.repeat(48), board },
      hw: { gpuPct: 100, tempC: 99.9, power: 'p'.repeat(24), ramMiB: 30_536, ramTotalMiB: 30_536 },
    });
    // 547 bytes; 512 without the power mode.
    const a = long('b'.repeat(56));
    expect(size(a)).toBe(547);
    const fa = fitNodeMeta(a);
    expect(size(fa)).toBe(512);
    expect(fa.hw).toEqual({ gpuPct: 100, tempC: 99.9, ramMiB: 30_536, ramTotalMiB: 30_536 });
    expect(fa.labels.board).toBe('b'.repeat(56));
    // 555 bytes; 520 without the power mode, so hw goes; the board stays.
    const b = long('b'.repeat(64));
    const fb = fitNodeMeta(b);
    expect(fb.hw).toBeUndefined();
    expect(fb.labels.board).toBe('b'.repeat(64));
    expect(size(fb)).toBeLessThanOrEqual(NODE_META_MAX_BYTES);
  });

  it('live values re-broadcast only on a real change (10 points GPU, 5 °C, 5% RAM, power mode, presence)', () => {
    const withHw = (hw: NodeMeta['hw']): NodeMeta => ({ ...base, hw });
    const hw = base.hw as NonNullable<NodeMeta['hw']>;
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, gpuPct: 44 }))).toBe(false);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, gpuPct: 47 }))).toBe(true);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, tempC: 54 }))).toBe(false);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, tempC: 56.5 }))).toBe(true);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, ramMiB: 9211 + 1000 }))).toBe(false);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, ramMiB: 9211 + 2000 }))).toBe(true);
    expect(isMeaningfulChange(withHw(hw), withHw({ ...hw, power: '30W' }))).toBe(true);
    expect(isMeaningfulChange(withHw(hw), withHw(undefined))).toBe(true);
    expect(isMeaningfulChange(withHw(undefined), withHw(hw))).toBe(true);
  });
});
