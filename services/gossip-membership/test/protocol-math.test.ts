// Formulas and presets against memberlist's own test numbers (util_test.go, suspicion_test.go)
// and the tables of docs/wire.md (§13–§15, §17).
import { describe, expect, it } from 'vitest';
import { Awareness } from '../src/protocol/awareness.js';
import {
  buildVsn,
  lanConfig,
  localConfig,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  profileConfig,
  wanConfig,
} from '../src/protocol/config.js';
import {
  pushPullScale,
  remainingSuspicionTime,
  retransmitLimit,
  scaleProbeInterval,
  suspicionConfirmations,
  suspicionTimeout,
} from '../src/protocol/math.js';

describe('suspicionTimeout', () => {
  it.each([
    [5, 1000],
    [10, 1000],
    [50, 1698],
    [100, 2000],
    [500, 2698],
    [1000, 3000],
  ])('memberlist TestSuspicionTimeout: n=%i → %i ms (mult 3, 1 s, divided by 3)', (n, expected) => {
    expect(suspicionTimeout(3, n, 1000) / 3).toBe(expected);
  });

  // docs/wire.md §13: min / max per preset.
  it.each([
    ['lan', 1, 4000, 24000],
    ['lan', 10, 4000, 24000],
    ['lan', 20, 5204, 31224],
    ['lan', 100, 8000, 48000],
    ['lan', 1000, 12000, 72000],
    ['local', 10, 3000, 18000],
    ['local', 20, 3903, 23418],
    ['local', 100, 6000, 36000],
    ['local', 1000, 9000, 54000],
    ['wan', 10, 30000, 180000],
    ['wan', 20, 39030, 234180],
    ['wan', 100, 60000, 360000],
    ['wan', 1000, 90000, 540000],
  ] as const)('%s n=%i: min %i ms, max %i ms', (profile, n, min, max) => {
    const c = profileConfig(profile);
    const got = suspicionTimeout(c.suspicionMult, n, c.probeIntervalMs);
    expect(got).toBe(min);
    expect(c.suspicionMaxTimeoutMult * got).toBe(max);
  });

  it('floors n at 1 (log10 of 0 or 1 gives the base timeout)', () => {
    expect(suspicionTimeout(4, 0, 1000)).toBe(4000);
  });
});

describe('suspicionConfirmations (k)', () => {
  it.each([
    ['lan', 2, 0],
    ['lan', 3, 0],
    ['lan', 4, 2],
    ['lan', 10, 2],
    ['local', 2, 0],
    ['local', 3, 1],
    ['wan', 5, 0],
    ['wan', 6, 4],
  ] as const)('%s n=%i → k=%i', (profile, n, k) => {
    expect(suspicionConfirmations(profileConfig(profile).suspicionMult, n)).toBe(k);
  });
});

describe('remainingSuspicionTime (memberlist TestSuspicion_remainingSuspicionTime)', () => {
  it.each([
    [0, 3, 0, 2000, 30000, 30000],
    [1, 3, 2000, 2000, 30000, 14000],
    [2, 3, 3000, 2000, 30000, 4810],
    [3, 3, 4000, 2000, 30000, -2000],
    [4, 3, 5000, 2000, 30000, -3000],
    [5, 3, 10000, 2000, 30000, -8000],
  ])('n=%i k=%i elapsed=%i min=%i max=%i → %i', (n, k, elapsed, min, max, expected) => {
    expect(remainingSuspicionTime(n, k, elapsed, min, max)).toBe(expected);
  });
});

describe('retransmitLimit', () => {
  it('memberlist TestRetransmitLimit', () => {
    expect(retransmitLimit(3, 0)).toBe(0);
    expect(retransmitLimit(3, 1)).toBe(3);
    expect(retransmitLimit(3, 99)).toBe(6);
  });
  it.each([
    [1, 4, 2],
    [9, 4, 2],
    [10, 8, 4],
    [99, 8, 4],
    [100, 12, 6],
    [999, 12, 6],
  ])('n=%i → LAN %i, Local %i', (n, lan, local) => {
    expect(retransmitLimit(lanConfig().retransmitMult, n)).toBe(lan);
    expect(retransmitLimit(localConfig().retransmitMult, n)).toBe(local);
  });
});

describe('pushPullScale', () => {
  it('memberlist TestPushPullScale: ×1 up to 32, ×2 to 64, ×3 to 128', () => {
    for (let n = 0; n <= 32; n++) expect(pushPullScale(1000, n)).toBe(1000);
    for (let n = 33; n <= 64; n++) expect(pushPullScale(1000, n)).toBe(2000);
    for (let n = 65; n <= 128; n++) expect(pushPullScale(1000, n)).toBe(3000);
  });
  it.each([
    [32, 30_000],
    [64, 60_000],
    [128, 90_000],
    [256, 120_000],
    [1000, 180_000],
  ])('LAN n=%i → %i ms', (n, ms) => {
    expect(pushPullScale(lanConfig().pushPullIntervalMs, n)).toBe(ms);
  });
});

describe('awareness', () => {
  it('scales the probe interval by score + 1', () => {
    expect(scaleProbeInterval(1000, 0)).toBe(1000);
    expect(scaleProbeInterval(1000, 7)).toBe(8000);
  });
  it('memberlist TestAwareness: clamps to [0, max − 1]', () => {
    const a = new Awareness(8);
    const cases: [number, number, number][] = [
      [0, 0, 1000],
      [-1, 0, 1000],
      [-10, 0, 1000],
      [1, 1, 2000],
      [-1, 0, 1000],
      [10, 7, 8000],
      [-1, 6, 7000],
      [-1, 5, 6000],
      [-1, 4, 5000],
      [-1, 3, 4000],
      [-1, 2, 3000],
      [-1, 1, 2000],
      [-1, 0, 1000],
      [-1, 0, 1000],
    ];
    for (const [delta, score, timeout] of cases) {
      a.applyDelta(delta);
      expect(a.score).toBe(score);
      expect(a.scaleTimeout(1000)).toBe(timeout);
    }
  });
});

describe('presets (docs/wire.md §17)', () => {
  const row = (c: ReturnType<typeof lanConfig>) => [
    c.protocolVersion,
    c.tcpTimeoutMs,
    c.indirectChecks,
    c.retransmitMult,
    c.suspicionMult,
    c.suspicionMaxTimeoutMult,
    c.pushPullIntervalMs,
    c.probeTimeoutMs,
    c.probeIntervalMs,
    c.disableTcpPings,
    c.awarenessMaxMultiplier,
    c.gossipNodes,
    c.gossipIntervalMs,
    c.gossipToTheDeadTimeMs,
    c.enableCompression,
    c.handoffQueueDepth,
    c.udpBufferSize,
    c.deadNodeReclaimTimeMs,
    c.bindPort,
  ];
  it.each([
    [
      'lan',
      lanConfig(),
      [2, 10_000, 3, 4, 4, 6, 30_000, 500, 1_000, false, 8, 3, 200, 30_000, true, 1024, 1400, 0, 7946],
    ],
    [
      'wan',
      wanConfig(),
      [2, 30_000, 3, 4, 6, 6, 60_000, 3_000, 5_000, false, 8, 4, 500, 60_000, true, 1024, 1400, 0, 7946],
    ],
    [
      'local',
      localConfig(),
      [2, 1_000, 1, 2, 3, 6, 15_000, 200, 1_000, false, 8, 3, 100, 15_000, true, 1024, 1400, 0, 7946],
    ],
  ] as const)('%s', (_name, config, expected) => {
    expect(row(config)).toEqual(expected);
  });

  it('defaults to lan and returns fresh objects', () => {
    expect(profileConfig()).toEqual(lanConfig());
    expect(lanConfig()).not.toBe(lanConfig());
  });

  it('advertises the Vsn memberlist 0.2.2 advertises: [1, 5, 2, 0, 0, 0]', () => {
    expect(PROTOCOL_VERSION_MIN).toBe(1);
    expect(PROTOCOL_VERSION_MAX).toBe(5);
    expect([...buildVsn(lanConfig())]).toEqual([1, 5, 2, 0, 0, 0]);
    expect([...buildVsn(localConfig())]).toEqual([1, 5, 2, 0, 0, 0]);
  });
});
