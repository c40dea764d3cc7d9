// Node meta: the contracts schema and its 512-byte limit, the re-broadcast policy, device label
// parsing, and the refresher reading DeviceLoad from a real Redis (and carrying on when it is down).
import {
  decodeNodeMeta,
  encodeNodeMeta,
  NODE_META_MAX_BYTES,
  type NodeMeta,
  NodeMetaTooLarge,
  redisNames,
} from '@edgefleet/contracts';
import { closeRedis, createRedis, silentLogger } from '@edgefleet/service-kit';
import { eventually, freePort, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeMeta } from '../src/meta/build-meta.js';
import { detectDeviceLabels, parseGpuModel, parseL4tRelease } from '../src/meta/device-labels.js';
import { decidePublish, isMeaningfulChange } from '../src/meta/meta-policy.js';
import { readDeviceLoad } from '../src/runtime/device-load.js';
import { MetaRefresher } from '../src/runtime/meta-refresher.js';

const base: NodeMeta = {
  v: 1,
  role: 'edge',
  api: 'http://10.0.0.7:4100',
  ver: '0.1.0',
  labels: { arch: 'arm64', l4t: '35.4.1', gpu: 'Jetson AGX Orin' },
  load: { running: 1, queued: 0, freeDiskMiB: 50_000, at: 1 },
};

describe('node meta schema', () => {
  it('round-trips as compact JSON well under 512 bytes', () => {
    const bytes = encodeNodeMeta(base);
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify(base));
    expect(bytes.length).toBeLessThan(260);
    expect(decodeNodeMeta(bytes)).toEqual(base);
  });

  it('a maximal meta (every field at its longest) still fits in 512 bytes', () => {
    const max: NodeMeta = {
      v: 1,
      role: 'server',
      api: `http://${'a'.repeat(89)}`,
      ver: 'v'.repeat(32),
      labels: { arch: 'x'.repeat(32), l4t: 'l'.repeat(32), gpu: 'g'.repeat(48) },
      load: {
        running: 2 ** 31,
        queued: 2 ** 31,
        freeDiskMiB: Number.MAX_SAFE_INTEGER,
        at: Number.MAX_SAFE_INTEGER,
      },
    };
    expect(encodeNodeMeta(max).length).toBeLessThanOrEqual(NODE_META_MAX_BYTES);
  });

  it('refuses to encode over 512 bytes (multi-byte text counts in bytes)', () => {
    // 48 three-byte characters in gpu and 32 in the others pass the schema's character limits.
    const wide: NodeMeta = {
      ...base,
      api: '€'.repeat(96),
      ver: '€'.repeat(32),
      labels: { arch: '€'.repeat(32), l4t: '€'.repeat(32), gpu: '€'.repeat(48) },
    };
    expect(() => encodeNodeMeta(wide)).toThrow(NodeMetaTooLarge);
    try {
      encodeNodeMeta(wide);
    } catch (e) {
      expect((e as NodeMetaTooLarge).code).toBe('NODE_META_TOO_LARGE');
      expect((e as NodeMetaTooLarge).size).toBeGreaterThan(NODE_META_MAX_BYTES);
    }
  });

  it('refuses an invalid meta', () => {
    expect(() => encodeNodeMeta({ ...base, role: 'worker' as 'edge' })).toThrow();
    expect(() => encodeNodeMeta({ ...base, ver: 'x'.repeat(33) })).toThrow();
  });

  it.each([
    ['null', null],
    ['empty', new Uint8Array(0)],
    ['Go meta text', new TextEncoder().encode('rack=3')],
    ['not UTF-8', Uint8Array.of(0x7b, 0xff, 0xfe)],
    ['truncated JSON', new TextEncoder().encode('{"v":1,"role":"ed')],
    ['wrong version', new TextEncoder().encode('{"v":2,"role":"edge","ver":"1"}')],
    ['JSON array', new TextEncoder().encode('[1]')],
    ['over 512 bytes', new TextEncoder().encode(`{"v":1,"role":"edge","ver":"${'x'.repeat(600)}"}`)],
  ])('decodes %s as "no edgefleet meta"', (_name, bytes) => {
    expect(decodeNodeMeta(bytes)).toBeUndefined();
  });

  it('ignores unknown keys from a newer writer', () => {
    const bytes = new TextEncoder().encode('{"v":1,"role":"edge","ver":"2","future":true}');
    expect(decodeNodeMeta(bytes)).toEqual({ v: 1, role: 'edge', ver: '2', labels: {} });
  });
});

describe('meta policy', () => {
  const withLoad = (load: Partial<NonNullable<NodeMeta['load']>>): NodeMeta => ({
    ...base,
    load: { ...(base.load as NonNullable<NodeMeta['load']>), ...load },
  });
  it.each([
    ['the same meta', base, false],
    ['only the load timestamp', withLoad({ at: 99 }), false],
    ['a small disk drift (< 10% and < 1 GiB)', withLoad({ freeDiskMiB: 49_500 }), false],
    ['running jobs', withLoad({ running: 2 }), true],
    ['queued jobs', withLoad({ queued: 1 }), true],
    ['disk moved by 1 GiB', withLoad({ freeDiskMiB: 48_976 }), true],
    ['the version', { ...base, ver: '0.2.0' }, true],
    ['a label', { ...base, labels: { ...base.labels, gpu: 'Orin Nano' } }, true],
    ['the job API', { ...base, api: 'http://10.0.0.8:4100' }, true],
    ['load appearing', { ...base, load: undefined }, true],
  ])('%s → meaningful: %s', (_name, next, expected) => {
    expect(isMeaningfulChange(base, next as NodeMeta)).toBe(expected);
  });

  it('a small disk counts 10% as meaningful', () => {
    expect(isMeaningfulChange(withLoad({ freeDiskMiB: 100 }), withLoad({ freeDiskMiB: 89 }))).toBe(true);
    expect(isMeaningfulChange(withLoad({ freeDiskMiB: 100 }), withLoad({ freeDiskMiB: 95 }))).toBe(false);
  });

  it('publishes at most once per interval, and later rather than never', () => {
    const next = withLoad({ running: 3 });
    expect(decidePublish(base, 1000, base, 1500, 5000)).toEqual({ kind: 'unchanged' });
    expect(decidePublish(base, 1000, next, 1500, 5000)).toEqual({ kind: 'wait', untilMs: 6000 });
    expect(decidePublish(base, 1000, next, 6000, 5000)).toEqual({ kind: 'publish' });
  });
});

describe('device labels', () => {
  it('parses the L4T release line', () => {
    expect(
      parseL4tRelease('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64\n'),
    ).toBe('35.4.1');
    expect(parseL4tRelease('# R32 (release), REVISION: 7.4')).toBe('32.7.4');
    expect(parseL4tRelease('garbage')).toBeUndefined();
  });
  it('parses the device-tree model', () => {
    expect(parseGpuModel('NVIDIA Jetson AGX Orin Developer Kit\0')).toBe('Jetson AGX Orin');
    expect(parseGpuModel('NVIDIA Jetson Nano Developer Kit')).toBe('Jetson Nano');
    expect(parseGpuModel('NVIDIA Jetson Xavier NX')).toBe('Jetson Xavier NX');
    expect(parseGpuModel('Raspberry Pi 4')).toBeUndefined();
  });
  it('detects the arch and lets settings win', () => {
    expect(detectDeviceLabels().arch).toBe(process.arch);
    expect(detectDeviceLabels({ arch: 'arm64', l4t: '36.3.0', gpu: 'Orin' })).toEqual({
      arch: 'arm64',
      l4t: '36.3.0',
      gpu: 'Orin',
    });
  });
});

describe('meta refresher over Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });
  const staticMeta = { role: 'edge' as const, version: '0.1.0', labels: { arch: 'arm64' } };

  it('reads DeviceLoad from the hash, and undefined when missing, malformed or Redis is down', async () => {
    const client = createRedis({ url: redis.url, name: 'test:load' });
    const names = redisNames(`t${Date.now()}`);
    await eventually(() => client.status === 'ready', { timeoutMs: 5000 });
    expect(await readDeviceLoad(client, names.deviceLoad)).toBeUndefined();
    await client.hset(names.deviceLoad, {
      running: '1',
      queued: '2',
      freeDiskBytes: String(2 ** 30),
      updatedAt: '5',
    });
    expect(await readDeviceLoad(client, names.deviceLoad)).toEqual({
      running: 1,
      queued: 2,
      freeDiskBytes: 2 ** 30,
      updatedAt: 5,
    });
    await client.hset(names.deviceLoad, { running: '-1' });
    expect(await readDeviceLoad(client, names.deviceLoad)).toBeUndefined();
    await closeRedis(client);
    const dead = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, name: 'test:dead' });
    dead.on('error', () => {});
    expect(await readDeviceLoad(dead, names.deviceLoad)).toBeUndefined();
    await closeRedis(dead);
  });

  it('publishes on a meaningful change, at most once per interval, keeping the last load when Redis fails', async () => {
    let now = 10_000;
    let load: { running: number; queued: number; freeDiskBytes: number; updatedAt: number } | undefined = {
      running: 0,
      queued: 0,
      freeDiskBytes: 10 * 2 ** 30,
      updatedAt: 1,
    };
    const published: NodeMeta[] = [];
    const r = new MetaRefresher({
      staticMeta,
      readLoad: async () => load,
      publish: (bytes) => published.push(decodeNodeMeta(bytes) as NodeMeta),
      pollMs: 1000,
      minIntervalMs: 5000,
      logger: silentLogger(),
      now: () => now,
    });
    expect(decodeNodeMeta(r.initialMeta())).toEqual({
      v: 1,
      role: 'edge',
      ver: '0.1.0',
      labels: { arch: 'arm64' },
    });
    await r.poll(); // load appears, but the interval since start has not passed
    expect(published).toHaveLength(0);
    now += 5000;
    await r.poll();
    expect(published).toHaveLength(1);
    expect(published[0]?.load).toEqual({ running: 0, queued: 0, freeDiskMiB: 10_240, at: 1 });
    load = { ...load, running: 1 };
    now += 1000;
    await r.poll(); // meaningful, but too soon after the last publish
    expect(published).toHaveLength(1);
    load = undefined; // Redis down: the last known load is kept
    now += 1000;
    await r.poll();
    expect(published).toHaveLength(1);
    now += 3000; // 5 s since the last publish
    await r.poll();
    expect(published).toHaveLength(2);
    expect(published[1]?.load?.running).toBe(1);
    load = { running: 1, queued: 0, freeDiskBytes: 10 * 2 ** 30, updatedAt: 2 };
    now += 10_000;
    await r.poll(); // only the timestamp moved
    expect(published).toHaveLength(2);
    expect(r.publishes).toBe(2);
  });

  it('runs its poll loop on a timer and stops', async () => {
    let reads = 0;
    const r = new MetaRefresher({
      staticMeta,
      readLoad: async () => {
        reads++;
        return undefined;
      },
      publish: () => {},
      pollMs: 20,
      minIntervalMs: 0,
      logger: silentLogger(),
    });
    r.start();
    await eventually(() => reads >= 2, { timeoutMs: 2000 });
    r.stop();
    const after = reads;
    await new Promise((res) => setTimeout(res, 60));
    expect(reads).toBeLessThanOrEqual(after + 1);
  });
});

describe('build meta', () => {
  it('converts free disk bytes to MiB and leaves load out until known', () => {
    const s = { role: 'server' as const, api: 'http://x:4100', version: '1', labels: {} };
    expect(buildNodeMeta(s, undefined)).toEqual({
      v: 1,
      role: 'server',
      api: 'http://x:4100',
      ver: '1',
      labels: {},
    });
    expect(
      buildNodeMeta(s, { running: 0, queued: 0, freeDiskBytes: 3 * 2 ** 20 + 5, updatedAt: 7 }).load,
    ).toEqual({
      running: 0,
      queued: 0,
      freeDiskMiB: 3,
      at: 7,
    });
  });
});
