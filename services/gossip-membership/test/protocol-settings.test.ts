// The protocol settings from the operator's flags (src/protocol-settings.ts, src/config.ts): versions
// advertised in Vsn, protocol version 1 sealing with encryption version 0, reconnect on/off, and the
// reconnect metrics (src/reconnect-metrics.ts).
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { Keyring } from '../src/keyring/keyring.js';
import { buildVsn, localConfig } from '../src/protocol/config.js';
import type { Engine } from '../src/protocol/engine.js';
import type { Message } from '../src/protocol/messages.js';
import { protocolSettings } from '../src/protocol-settings.js';
import { registerReconnectMetrics } from '../src/reconnect-metrics.js';
import { createMemberlistCodec } from '../src/runtime/wire-memberlist.js';

const settingsOf = (argv: string[]) => {
  const c = loadConfig({}, [...argv, '--profile=local']);
  return protocolSettings({
    profile: c.profile,
    protocolVersion: c.protocolVersion,
    delegateProtocolMin: c.delegateProtocolMin,
    delegateProtocolMax: c.delegateProtocolMax,
    delegateProtocolVersion: c.delegateProtocolVersion,
    reconnect: c.gossipReconnect,
  });
};

describe('protocol settings', () => {
  it('default: memberlist 0.2.2 Vsn [1,5,2,0,0,0], reconnect on at the push/pull interval', () => {
    const p = settingsOf([]);
    expect([...buildVsn(p)]).toEqual([1, 5, 2, 0, 0, 0]);
    expect(p.reconnectIntervalMs).toBe(localConfig().pushPullIntervalMs);
  });

  it('--protocol-version and --delegate-protocol-* go into the advertised Vsn', () => {
    const p = settingsOf([
      '--protocol-version=1',
      '--delegate-protocol-min=2',
      '--delegate-protocol-max=4',
      '--delegate-protocol-version=3',
    ]);
    expect([...buildVsn(p)]).toEqual([1, 5, 1, 2, 4, 3]);
  });

  it('--reconnect=false is memberlist: no reconnect loop', () => {
    expect(settingsOf(['--reconnect=false']).reconnectIntervalMs).toBe(0);
    expect(loadConfig({ EDGEFLEET_GOSSIP_RECONNECT: 'false' }, []).gossipReconnect).toBe(false);
  });

  it('refuses a protocol version outside 1..5, naming the flag or the variable', () => {
    expect(() => loadConfig({}, ['--protocol-version=6'])).toThrow(/-protocol-version/);
    expect(() => loadConfig({ EDGEFLEET_PROTOCOL_VERSION: '0' }, [])).toThrow(/EDGEFLEET_PROTOCOL_VERSION/);
    expect(() => loadConfig({}, ['--delegate-protocol-max=256'])).toThrow(/-delegate-protocol-max/);
  });

  it('protocol version 1 with a key seals with encryption version 0 (PKCS#7 padding), 2 with version 1', () => {
    const r = Keyring.create([new Uint8Array(16).fill(9)]);
    if (!r.ok) throw new Error(r.detail);
    const ack: Message = { type: 'ackResp', body: { seqNo: 1, payload: null } };
    const sealed = (v: number) =>
      createMemberlistCodec(
        { ...settingsOf([`--protocol-version=${v}`]) },
        { keyring: r.keyring },
      ).encodePacket([ack], false)[0] as Uint8Array;
    const v1 = sealed(1);
    const v2 = sealed(2);
    expect(v1[0]).toBe(0);
    expect(v2[0]).toBe(1);
    expect((v1.length - 1 - 12 - 16) % 16).toBe(0); // padded to whole blocks
  });
});

describe('reconnect metrics', () => {
  it('report the candidates and count the attempts', async () => {
    const registry = new Registry();
    const engine = { reconnectCandidates: ['a', 'b'], reconnectAttempts: 3 };
    registerReconnectMetrics(registry, () => engine as unknown as Engine);
    let text = await registry.metrics();
    expect(text).toMatch(/gossip_reconnect_candidates 2/);
    expect(text).toMatch(/gossip_reconnect_attempts_total 3/);
    engine.reconnectAttempts = 5;
    text = await registry.metrics();
    expect(text).toMatch(/gossip_reconnect_attempts_total 5/);
  });
});
