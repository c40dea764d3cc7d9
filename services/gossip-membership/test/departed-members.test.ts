// The running departed record (src/departed/departed-members.ts) over a real file store: events in,
// persisted, reloaded by a new instance (a restarted service), peers' user state merged or dropped
// and counted, expiry on its timer, and a record that could not be read is never overwritten.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@edgefleet/service-kit';
import { eventually } from '@edgefleet/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DepartedMembers } from '../src/departed/departed-members.js';
import { encodeDepartedState } from '../src/departed/departed-state.js';
import { type DepartedStore, fileDepartedStore } from '../src/departed/departed-store.js';
import type { MemberEvent, MemberView } from '../src/protocol/members.js';

const dirs: string[] = [];
const open: DepartedMembers[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmpFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'departed-'));
  dirs.push(dir);
  return join(dir, 'departed.json');
};

const node = (name: string, incarnation = 2): MemberView => ({
  name,
  addr: Uint8Array.of(10, 0, 0, 7),
  port: 8000,
  meta: new TextEncoder().encode('{"v":1}'),
  vsn: new Uint8Array(6),
  incarnation,
  state: 'dead',
  stateChange: 0,
});

function make(
  o: { store?: DepartedStore; retentionMs?: number; active?: Set<string>; now?: () => number } = {},
) {
  const registry = new Registry();
  const d = new DepartedMembers({
    selfName: 'me',
    retentionMs: o.retentionMs ?? 60_000,
    store: o.store,
    logger: silentLogger(),
    registry,
    active: (n) => o.active?.has(n) ?? false,
    ...(o.now ? { now: o.now } : {}),
    saveRetryMs: 50,
  });
  open.push(d);
  return { d, registry };
}

const dead = (name: string, by = 'go-1'): MemberEvent => ({ kind: 'dead', node: node(name), by });

describe('DepartedMembers', () => {
  it('records a death with address, incarnation, meta, time and declarer; forgets it when the node returns', async () => {
    const { d } = make();
    await d.load();
    d.notify([dead('jet-7'), { kind: 'left', node: node('jet-8'), by: 'jet-8' }, dead('me')]);
    const byName = new Map(d.list().map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(['jet-7', 'jet-8']);
    const seven = byName.get('jet-7');
    const eight = byName.get('jet-8');
    expect(seven).toMatchObject({
      name: 'jet-7',
      ip: '10.0.0.7',
      port: 8000,
      incarnation: 2,
      state: 'dead',
      by: 'go-1',
    });
    expect(Buffer.from(seven?.meta ?? '', 'base64').toString()).toBe('{"v":1}');
    expect(Math.abs((seven?.at ?? 0) - Date.now())).toBeLessThan(5_000);
    expect(eight).toMatchObject({ name: 'jet-8', state: 'left', by: 'jet-8' });
    d.notify([{ kind: 'join', node: { ...node('jet-7', 1), state: 'alive' } }]);
    expect(d.list().map((e) => e.name)).toEqual(['jet-8']);
  });

  it('survives a restart through its file, and a new instance merges it with what it learnt meanwhile', async () => {
    const file = tmpFile();
    const first = make({ store: fileDepartedStore(file) }).d;
    await first.load();
    first.notify([dead('jet-7')]);
    await first.close();
    expect(JSON.parse(readFileSync(file, 'utf8')).members[0].name).toBe('jet-7');

    const second = make({ store: fileDepartedStore(file) }).d;
    second.notify([dead('jet-9')]); // learnt before the load finished: kept, and not lost by the load
    await second.load();
    expect(
      second
        .list()
        .map((e) => e.name)
        .sort(),
    ).toEqual(['jet-7', 'jet-9']);
    await eventually(() => JSON.parse(readFileSync(file, 'utf8')).members.length === 2);
  });

  it('never overwrites a saved record it could not read yet; saves once the read succeeds', async () => {
    const saved: string[] = [];
    let readable = false;
    const store: DepartedStore = {
      where: 'test',
      load: async () => {
        if (!readable) throw new Error('redis down');
        return new TextDecoder().decode(
          encodeDepartedState([
            {
              ...{
                name: 'old',
                ip: '10.0.0.1',
                port: 1,
                incarnation: 1,
                meta: null,
                state: 'dead' as const,
                by: 'x',
              },
              at: Date.now(),
            },
          ]),
        );
      },
      save: async (text) => {
        saved.push(text);
      },
    };
    const { d } = make({ store });
    void d.load();
    d.notify([dead('jet-7')]);
    await new Promise((r) => setImmediate(r));
    expect(saved).toEqual([]);
    readable = true;
    await eventually(() => saved.length > 0, { timeoutMs: 5_000 });
    const last = JSON.parse(saved.at(-1) as string) as { members: { name: string }[] };
    expect(last.members.map((m) => m.name).sort()).toEqual(['jet-7', 'old']);
  });

  it("merges a peer's state, and drops and counts one that is malformed or over 64 KiB", async () => {
    const { d, registry } = make({ active: new Set(['back']) });
    await d.load();
    const peer = make().d;
    peer.notify([dead('jet-7'), dead('back')]);
    d.mergeRemoteState(peer.localState());
    expect(d.list().map((e) => e.name)).toEqual(['jet-7']);
    d.mergeRemoteState(Buffer.from('{"departed":1,"members":[{"name":"evil"}]}'));
    d.mergeRemoteState(Buffer.alloc(64 * 1024 + 1, 0x20));
    d.mergeRemoteState(new Uint8Array(0)); // Go nodes send none: not a drop
    expect(d.list().map((e) => e.name)).toEqual(['jet-7']);
    const text = await registry.metrics();
    expect(text).toMatch(/gossip_user_state_dropped_total\{reason="malformed"\} 1/);
    expect(text).toMatch(/gossip_user_state_dropped_total\{reason="oversized"\} 1/);
    expect(text).toMatch(/gossip_departed_merged_total 1/);
    expect(text).toMatch(/gossip_departed_members 1/);
  });

  it('expires an entry after the retention, on its own timer, and saves that', async () => {
    const file = tmpFile();
    const { d } = make({ store: fileDepartedStore(file), retentionMs: 300 });
    await d.load();
    d.notify([dead('jet-7')]);
    expect(d.list()).toHaveLength(1);
    await eventually(() => JSON.parse(readFileSync(file, 'utf8')).members.length === 0, { timeoutMs: 5_000 });
    expect(d.list()).toHaveLength(0);
  });

  it('keeps nothing with retention 0 (memberlist behaviour) and sends no user state', async () => {
    const file = tmpFile();
    writeFileSync(file, JSON.stringify({ departed: 1, members: [] }));
    const { d } = make({ store: fileDepartedStore(file), retentionMs: 0 });
    await d.load();
    d.notify([dead('jet-7')]);
    expect(d.list()).toEqual([]);
    expect(d.localState().length).toBe(0);
  });
});
