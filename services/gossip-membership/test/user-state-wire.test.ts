// A peer's push/pull user state (the departed record) that is malformed or over 64 KiB, sent over
// the real gossip port to the service process: the push/pull itself is answered, the user state is
// dropped and counted (gossip_user_state_dropped_total), and nothing of it is merged — the members
// it names never show as departed.
import { connect } from 'node:net';
import { DEPARTED_STATE_MAX_BYTES } from '@edgefleet/contracts';
import { eventually, freePort } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStreamFrame } from '../src/wire/stream.js';
import { startTsNode, type TsNode } from '../support/ts-node.js';

const IP = '127.0.0.71';
let node: TsNode;

beforeAll(async () => {
  node = await startTsNode({
    name: 'us-target',
    ip: IP,
    bindPort: await freePort(IP),
    httpPort: await freePort(),
    env: { EDGEFLEET_GOSSIP_DEPARTED_FILE: `/tmp/us-target-${process.pid}.json` },
  });
}, 30_000);
afterAll(async () => {
  await node?.kill();
});

const member = (name: string, pad = '') => ({
  name,
  ip: '10.9.9.9',
  port: 7946,
  incarnation: 1,
  meta: null,
  state: 'dead',
  // Recent, so only the refusal can keep it out (an old one would expire at once).
  at: Date.now(),
  by: `accuser${pad}`,
});

/** One push/pull over TCP with `userState`; resolves when the node has answered and closed. */
function pushPull(userState: Uint8Array): Promise<number> {
  const frame = encodeStreamFrame(
    { type: 'pushPull', value: { join: false, states: [], userState } },
    { compress: true, dialling: true },
  );
  return new Promise((resolve, reject) => {
    const s = connect({ host: IP, port: node.bindPort });
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(frame);
    // The node answers with its own push/pull and closes; end our side once written.
    s.end();
  });
}

async function dropped(reason: string): Promise<number> {
  const m = new RegExp(`gossip_user_state_dropped_total\\{reason="${reason}"[^}]*\\} (\\d+)`).exec(
    await node.metrics(),
  );
  return Number(m?.[1] ?? 0);
}

const departedNames = async () => {
  const r = await fetch(`http://127.0.0.1:${node.httpPort}/v1/members?state=dead`);
  return ((await r.json()) as { members: { name: string }[] }).members.map((m) => m.name);
};

describe('push/pull user state from a hostile peer', () => {
  it('drops and counts a malformed state without merging any of it', async () => {
    const bad = Buffer.from(JSON.stringify({ departed: 1, members: [{ ...member('evil-1'), port: -1 }] }));
    expect(await pushPull(bad)).toBeGreaterThan(0);
    expect(await pushPull(Buffer.from('{"departed":1,"members":[{"name":"evil-2"'))).toBeGreaterThan(0);
    expect(await dropped('malformed')).toBe(2);
    expect(await departedNames()).not.toContain('evil-1');
    expect(await departedNames()).not.toContain('evil-2');
  });

  it('drops and counts a well-formed state over 64 KiB without merging any of it', async () => {
    const members = [];
    for (let i = 0; JSON.stringify(members).length <= DEPARTED_STATE_MAX_BYTES; i++)
      members.push(member(`evil-big-${i}`, 'x'.repeat(400)));
    const big = Buffer.from(JSON.stringify({ departed: 1, members }));
    expect(big.length).toBeGreaterThan(DEPARTED_STATE_MAX_BYTES);
    expect(await pushPull(big)).toBeGreaterThan(0);
    expect(await dropped('oversized')).toBe(1);
    const names = await departedNames();
    expect(names.filter((n) => n.startsWith('evil-big-'))).toEqual([]);
  });

  it('merges a well-formed state under the limit (the same path, not refused wholesale)', async () => {
    const ok = Buffer.from(JSON.stringify({ departed: 1, members: [member('gone-1')] }));
    expect(await pushPull(ok)).toBeGreaterThan(0);
    await eventually(async () => (await departedNames()).includes('gone-1'), {
      timeoutMs: 5_000,
      what: 'gone-1 listed dead',
    });
  });
});
