// Incarnation/state precedence of the member table (memberlist state.go aliveNode / suspectNode /
// deadNode / refute / mergeState / verifyProtocol / resetNodes; docs/wire.md §10–§11).
// The exhaustive table compares every (state, incarnation, message) combination with an oracle
// written from docs/wire.md's rules.
import { describe, expect, it } from 'vitest';
import { lanConfig, type ProtocolConfig } from '../src/protocol/config.js';
import { type MemberEvent, MemberTable } from '../src/protocol/members.js';
import type { Alive, Message, NodeStateName, PushNodeState } from '../src/protocol/messages.js';
import { createRng } from '../src/protocol/prng.js';

const VSN = Uint8Array.of(1, 5, 2, 0, 0, 0);
const ip = (last: number) => Uint8Array.of(10, 0, 0, last);
const SELF = 'self';

function alive(node: string, incarnation: number, over: Partial<Alive> = {}): Alive {
  return { node, incarnation, addr: ip(node === SELF ? 1 : 2), port: 7946, meta: null, vsn: VSN, ...over };
}

function setup(config: ProtocolConfig = lanConfig()) {
  const broadcasts: { message: Message; name: string; onFinished?: () => void }[] = [];
  const events: MemberEvent[] = [];
  let refutes = 0;
  const table = new MemberTable({
    localName: SELF,
    config,
    rng: createRng(1),
    hooks: {
      broadcast: (message, name, onFinished) => broadcasts.push({ message, name, onFinished }),
      event: (e) => events.push(e),
      refuted: () => {
        refutes += 1;
      },
    },
  });
  table.nextIncarnation();
  table.aliveNode(alive(SELF, 1), 0, true);
  broadcasts.length = 0;
  events.length = 0;
  return { table, broadcasts, events, refutes: () => refutes };
}

/** Puts node "peer" in `state` at incarnation `inc` (via the public rules). */
function withPeer(state: NodeStateName, inc: number) {
  const s = setup();
  s.table.aliveNode(alive('peer', inc), 0);
  if (state === 'suspect') s.table.suspectNode({ node: 'peer', incarnation: inc, from: 'x' }, 0);
  if (state === 'dead') s.table.deadNode({ node: 'peer', incarnation: inc, from: 'x' }, 0);
  if (state === 'left') s.table.deadNode({ node: 'peer', incarnation: inc, from: 'peer' }, 0);
  expect(s.table.get('peer')?.state).toBe(state);
  expect(s.table.get('peer')?.incarnation).toBe(inc);
  s.broadcasts.length = 0;
  s.events.length = 0;
  return s;
}

type Kind = 'alive' | 'suspect' | 'dead' | 'leave';
const STATES: NodeStateName[] = ['alive', 'suspect', 'dead', 'left'];
const KINDS: Kind[] = ['alive', 'suspect', 'dead', 'leave'];
const KNOWN = 5;

/** The rules of docs/wire.md §11 for a node other than us, same address. */
function oracle(state: NodeStateName, known: number, kind: Kind, inc: number): [NodeStateName, number] {
  switch (kind) {
    case 'alive':
      return inc > known ? ['alive', inc] : [state, known];
    case 'suspect':
      return inc >= known && state === 'alive' ? ['suspect', inc] : [state, known];
    case 'dead':
    case 'leave':
      if (inc < known || state === 'dead' || state === 'left') return [state, known];
      return [kind === 'leave' ? 'left' : 'dead', inc];
  }
}

describe('precedence for other nodes (exhaustive)', () => {
  const cases = STATES.flatMap((state) =>
    KINDS.flatMap((kind) => [KNOWN - 1, KNOWN, KNOWN + 1].map((inc) => [state, kind, inc] as const)),
  );
  it.each(cases)('%s@5 + %s@%i', (state, kind, inc) => {
    const s = withPeer(state, KNOWN);
    if (kind === 'alive') s.table.aliveNode(alive('peer', inc), 10);
    if (kind === 'suspect') s.table.suspectNode({ node: 'peer', incarnation: inc, from: 'y' }, 10);
    if (kind === 'dead') s.table.deadNode({ node: 'peer', incarnation: inc, from: 'y' }, 10);
    if (kind === 'leave') s.table.deadNode({ node: 'peer', incarnation: inc, from: 'peer' }, 10);
    const [expState, expInc] = oracle(state, KNOWN, kind, inc);
    const got = s.table.get('peer');
    expect([got?.state, got?.incarnation]).toEqual([expState, expInc]);
    const changed = expState !== state || expInc !== KNOWN;
    // Every accepted change is re-gossiped under the node's name; rejected messages are not. (A
    // suspect confirming an existing suspicion is re-gossiped only while confirmations are
    // wanted: k = 0 in this two-node table; see the suspicion tests below.)
    expect(s.broadcasts.length > 0).toBe(changed);
    for (const b of s.broadcasts) expect(b.name).toBe('peer');
    if (changed) expect(got?.stateChange).toBe(expState === state ? 0 : 10);
  });
});

describe('precedence for ourselves', () => {
  it.each([
    ['alive', KNOWN - 1, false],
    ['alive', KNOWN, false],
    ['alive', KNOWN + 1, true],
    ['suspect', KNOWN - 1, false],
    ['suspect', KNOWN, true],
    ['suspect', KNOWN + 1, true],
    ['dead', KNOWN - 1, false],
    ['dead', KNOWN, true],
    ['dead', KNOWN + 1, true],
  ] as const)('%s@%i about us → refute: %s', (kind, inc, refutes) => {
    const s = setup();
    // Raise our incarnation to 5 the way memberlist does: refute an accusation at 4.
    s.table.suspectNode({ node: SELF, incarnation: 4, from: 'x' }, 0);
    expect(s.table.local()?.incarnation).toBe(KNOWN);
    s.broadcasts.length = 0;
    const before = s.refutes();
    if (kind === 'alive') s.table.aliveNode(alive(SELF, inc), 1);
    if (kind === 'suspect') s.table.suspectNode({ node: SELF, incarnation: inc, from: 'x' }, 1);
    if (kind === 'dead') s.table.deadNode({ node: SELF, incarnation: inc, from: 'x' }, 1);
    const me = s.table.local();
    expect(me?.state).toBe('alive');
    expect(s.refutes() - before).toBe(refutes ? 1 : 0);
    if (refutes) {
      // max(next local incarnation, accused + 1)
      expect(me?.incarnation).toBe(Math.max(KNOWN + 1, inc + 1));
      expect(s.broadcasts).toHaveLength(1);
      const b = s.broadcasts[0];
      expect(b?.message.type).toBe('alive');
      expect(b?.name).toBe('10.0.0.1'); // memberlist names the refutation after our IP
      expect(b?.message.body).toMatchObject({ node: SELF, incarnation: me?.incarnation, port: 7946 });
    } else {
      expect(me?.incarnation).toBe(KNOWN);
      expect(s.broadcasts).toHaveLength(0);
    }
  });

  it('an alive about us with our incarnation but different meta is refuted', () => {
    const s = setup();
    s.table.aliveNode(alive(SELF, 1, { meta: Uint8Array.of(1) }), 1);
    expect(s.table.local()?.incarnation).toBe(2);
    expect(s.refutes()).toBe(1);
  });

  it('while leaving: alive about us is ignored and dead about us becomes Left with a notified broadcast', () => {
    const s = setup();
    s.table.leaving = true;
    s.table.aliveNode(alive(SELF, 9), 1);
    expect(s.table.local()?.incarnation).toBe(1);
    let finished = false;
    s.table.deadNode({ node: SELF, incarnation: 1, from: SELF }, 2, () => {
      finished = true;
    });
    expect(s.table.local()?.state).toBe('left');
    expect(s.broadcasts).toHaveLength(1);
    s.broadcasts[0]?.onFinished?.();
    expect(finished).toBe(true);
  });
});

describe('alive details', () => {
  it('an unknown node announced with incarnation 0 stays recorded as Dead', () => {
    const s = setup();
    s.table.aliveNode(alive('peer', 0), 0);
    expect(s.table.get('peer')?.state).toBe('dead');
    expect(s.events).toEqual([]);
  });

  it('a new node fires join; a meta change fires update; a suspect cleared fires alive', () => {
    const s = setup();
    s.table.aliveNode(alive('peer', 1), 0);
    s.table.aliveNode(alive('peer', 2, { meta: Uint8Array.of(7) }), 0);
    s.table.suspectNode({ node: 'peer', incarnation: 2, from: 'x' }, 0);
    s.table.aliveNode(alive('peer', 3, { meta: Uint8Array.of(7) }), 0);
    expect(s.events.map((e) => e.kind)).toEqual(['join', 'update', 'suspect', 'alive']);
  });

  it('ignores an alive whose Vsn has PMin 0, PMax 0 or PMin > PMax', () => {
    const s = setup();
    for (const vsn of [
      [0, 5, 2, 0, 0, 0],
      [1, 0, 2, 0, 0, 0],
      [3, 2, 2, 0, 0, 0],
    ]) {
      s.table.aliveNode(alive('peer', 1, { vsn: Uint8Array.from(vsn) }), 0);
    }
    expect(s.table.get('peer')).toBeUndefined();
  });

  it('a different address for a live node is a conflict and is ignored', () => {
    const s = setup();
    s.table.aliveNode(alive('peer', 1), 0);
    s.table.aliveNode(alive('peer', 9, { addr: ip(77) }), 0);
    expect(s.table.get('peer')?.incarnation).toBe(1);
    expect(s.events.at(-1)?.kind).toBe('conflict');
  });

  it('the same IPv4 address in 16-byte mapped form is a conflict, as Go compares the bytes (bytes.Equal)', () => {
    const s = setup();
    s.table.aliveNode(alive('peer', 1), 0);
    const mapped = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2);
    s.table.aliveNode(alive('peer', 2, { addr: mapped }), 0);
    expect(s.table.get('peer')?.incarnation).toBe(1);
    expect(s.events.at(-1)?.kind).toBe('conflict');
  });

  it('a Left node may come back at a new address at once, even at a lower incarnation', () => {
    const s = withPeer('left', 5);
    s.table.aliveNode(alive('peer', 1, { addr: ip(77) }), 5);
    expect(s.table.get('peer')).toMatchObject({ state: 'alive', incarnation: 1, addr: ip(77) });
    expect(s.events.map((e) => e.kind)).toEqual(['join']);
  });

  it('a Dead node may move only after deadNodeReclaimTime (when set)', () => {
    const s = withPeer('dead', 5);
    s.table.aliveNode(alive('peer', 6, { addr: ip(77) }), 100_000);
    expect(s.table.get('peer')?.state).toBe('dead'); // default 0 = never
    const t = setup({ ...lanConfig(), deadNodeReclaimTimeMs: 10_000 });
    t.table.aliveNode(alive('peer', 5), 0);
    t.table.deadNode({ node: 'peer', incarnation: 5, from: 'x' }, 0);
    t.table.aliveNode(alive('peer', 1, { addr: ip(77) }), 5_000);
    expect(t.table.get('peer')?.state).toBe('dead');
    t.table.aliveNode(alive('peer', 1, { addr: ip(77) }), 10_001);
    expect(t.table.get('peer')?.state).toBe('alive');
  });
});

describe('suspicion inside the table', () => {
  it('uses k, min and max from the cluster size and fires dead{From: us} at the deadline', () => {
    const s = setup();
    for (let i = 2; i <= 9; i++) s.table.aliveNode(alive(`n${i}`, 1, { addr: ip(i + 10) }), 0);
    expect(s.table.numNodes).toBe(9);
    s.table.suspectNode({ node: 'n2', incarnation: 1, from: 'n3' }, 1_000);
    const timer = s.table.suspicion('n2');
    expect([timer?.k, timer?.minMs, timer?.maxMs, timer?.deadline]).toEqual([2, 4000, 24000, 25_000]);
    s.broadcasts.length = 0;
    s.table.suspectNode({ node: 'n2', incarnation: 1, from: 'n4' }, 2_000); // confirmation 1 of 2
    s.table.suspectNode({ node: 'n2', incarnation: 1, from: 'n4' }, 2_500); // already counted
    s.table.suspectNode({ node: 'n2', incarnation: 1, from: 'n5' }, 3_000); // confirmation 2: min
    s.table.suspectNode({ node: 'n2', incarnation: 1, from: 'n6' }, 3_100); // beyond k
    // Only new confirmations are re-gossiped.
    expect(s.broadcasts.map((b) => (b.message.body as { from: string }).from)).toEqual(['n4', 'n5']);
    expect(s.table.nextSuspicionDeadline()).toBe(5_000);
    s.broadcasts.length = 0;
    s.table.fireSuspicions(4_999);
    expect(s.table.get('n2')?.state).toBe('suspect');
    s.table.fireSuspicions(5_000);
    expect(s.table.get('n2')?.state).toBe('dead');
    expect(s.broadcasts[0]?.message).toEqual({
      type: 'dead',
      body: { node: 'n2', incarnation: 1, from: SELF },
    });
  });

  it('a refuted suspicion does not fire', () => {
    const s = setup();
    s.table.aliveNode(alive('peer', 1), 0);
    s.table.suspectNode({ node: 'peer', incarnation: 1, from: 'x' }, 0);
    s.table.aliveNode(alive('peer', 2), 100);
    s.table.fireSuspicions(1_000_000);
    expect(s.table.get('peer')?.state).toBe('alive');
    expect(s.table.nextSuspicionDeadline()).toBeUndefined();
  });
});

describe('push/pull merge', () => {
  const remote = (name: string, state: number, incarnation: number, last = 50): PushNodeState => ({
    name,
    addr: ip(last),
    port: 7946,
    meta: null,
    incarnation,
    state,
    vsn: VSN,
  });

  it('Alive → alive, Left → left, Dead/Suspect → only suspect (From = us)', () => {
    const s = setup();
    for (const [i, n] of ['a', 'b', 'c', 'd'].entries())
      s.table.aliveNode(alive(n, 1, { addr: ip(50 + i) }), 0);
    s.broadcasts.length = 0;
    s.table.mergeState(
      [
        remote('a', 0, 2, 50),
        remote('b', 3, 1, 51),
        remote('c', 2, 1, 52),
        remote('d', 1, 1, 53),
        remote('e', 0, 1, 54),
      ],
      1,
    );
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => s.table.get(n)?.state)).toEqual([
      'alive',
      'left',
      'suspect',
      'suspect',
      'alive',
    ]);
    const suspects = s.broadcasts.filter((b) => b.message.type === 'suspect').map((b) => b.message.body);
    expect(suspects).toEqual([
      { incarnation: 1, node: 'c', from: SELF },
      { incarnation: 1, node: 'd', from: SELF },
    ]);
  });

  it('our own old state in a merge is refuted (restart under the same name)', () => {
    const s = setup();
    s.table.mergeState([{ ...remote(SELF, 2, 7, 1) }], 1);
    expect(s.table.local()).toMatchObject({ state: 'alive', incarnation: 8 });
    expect(s.refutes()).toBe(1);
  });

  it('verifyProtocol accepts matching versions and rejects an out-of-range or missing PCur', () => {
    const s = setup();
    expect(s.table.verifyProtocol([remote('a', 0, 1)])).toBeNull();
    expect(s.table.verifyProtocol([{ ...remote('a', 0, 1), vsn: Uint8Array.of(1, 5, 6, 0, 0, 0) }])).toMatch(
      /protocol version \(6\) is incompatible: \[1, 5\]/,
    );
    expect(s.table.verifyProtocol([{ ...remote('a', 0, 1), vsn: new Uint8Array(0) }])).toMatch(
      /version \(0\)/,
    );
    expect(s.table.verifyProtocol([{ ...remote('a', 0, 1), vsn: Uint8Array.of(1, 5, 2, 1, 1, 1) }])).toMatch(
      /delegate protocol version \(1\) is incompatible: \[1, 0\]/, // [1,1] ∩ our [0,0] is empty
    );
  });

  it('localState lists every node in every state with a 6-byte Vsn', () => {
    const s = withPeer('left', 3);
    const st = s.table.localState();
    expect(st.map((n) => [n.name, n.state, n.incarnation, n.vsn.length]).sort()).toEqual([
      ['peer', 3, 3, 6],
      [SELF, 0, 1, 6],
    ]);
  });
});

describe('reaping', () => {
  it('removes Dead and Left nodes older than GossipToTheDeadTime, keeps the rest', () => {
    const s = setup();
    s.table.aliveNode(alive('dead-old', 1, { addr: ip(60) }), 0);
    s.table.aliveNode(alive('left-old', 1, { addr: ip(61) }), 0);
    s.table.aliveNode(alive('dead-new', 1, { addr: ip(62) }), 0);
    s.table.aliveNode(alive('live', 1, { addr: ip(63) }), 0);
    s.table.deadNode({ node: 'dead-old', incarnation: 1, from: 'x' }, 0);
    s.table.deadNode({ node: 'left-old', incarnation: 1, from: 'left-old' }, 0);
    s.table.deadNode({ node: 'dead-new', incarnation: 1, from: 'x' }, 20_000);
    expect(s.table.reap(30_000)).toEqual([]); // exactly 30 s is not older
    expect(s.table.reap(30_001).sort()).toEqual(['dead-old', 'left-old']);
    expect(s.table.all().map((n) => n.name)).toEqual(['dead-new', 'live', SELF]);
    expect(s.table.members().map((n) => n.name)).toEqual(['live', SELF]);
    // Our own Left record is never reaped.
    s.table.leaving = true;
    s.table.deadNode({ node: SELF, incarnation: 1, from: SELF }, 30_001);
    expect(s.table.reap(100_000)).toEqual(['dead-new']);
    expect(s.table.local()?.state).toBe('left');
  });
});
