// The departed record's decisions (src/departed/departed-record.ts) and its bytes
// (src/departed/departed-state.ts): departure, return, merge between peers, expiry, and hostile
// user state from a peer.
import { DEPARTED_STATE_MAX_BYTES, type DepartedMember } from '@edgefleet/contracts';
import { describe, expect, it } from 'vitest';
import {
  type DepartedEntries,
  expire,
  forgetReturned,
  mergeRemote,
  nextExpiry,
  recordDeparture,
  visible,
} from '../src/departed/departed-record.js';
import { decodeDepartedState, encodeDepartedState } from '../src/departed/departed-state.js';
import { membersWithDeparted } from '../src/departed/departed-view.js';
import type { MemberInfo } from '../src/membership-view.js';

const H = 3_600_000;
const T0 = 1_764_000_000_000;
const entry = (name: string, o: Partial<DepartedMember> = {}): DepartedMember => ({
  name,
  ip: '10.0.0.7',
  port: 8000,
  incarnation: 3,
  meta: null,
  state: 'dead',
  at: T0,
  by: 'jet-2',
  ...o,
});
const of = (...list: DepartedMember[]): DepartedEntries => new Map(list.map((e) => [e.name, e]));
const none = () => false;

describe('recordDeparture', () => {
  it.each<[string, DepartedEntries, DepartedMember, number, DepartedMember | undefined]>([
    ['a first departure is kept', of(), entry('a'), 24 * H, entry('a')],
    ['retention 0 keeps nothing (memberlist)', of(), entry('a'), 0, undefined],
    [
      'the same death declared again keeps the first time',
      of(entry('a')),
      entry('a', { at: T0 + 5_000, by: 'jet-3' }),
      24 * H,
      entry('a'),
    ],
    [
      'a later death at a higher incarnation replaces it',
      of(entry('a')),
      entry('a', { incarnation: 9, at: T0 + 5_000 }),
      24 * H,
      entry('a', { incarnation: 9, at: T0 + 5_000 }),
    ],
    [
      'an expired entry is replaced by a new death',
      of(entry('a', { at: T0 - 25 * H })),
      entry('a', { incarnation: 1 }),
      24 * H,
      entry('a', { incarnation: 1 }),
    ],
  ])('%s', (_name, entries, e, retention, expected) => {
    expect(recordDeparture(entries, e, retention, T0).get('a')).toEqual(expected);
  });
});

describe('forgetReturned', () => {
  it('removes the entry of a node alive again, and changes nothing for others', () => {
    const entries = of(entry('a'), entry('b'));
    expect([...forgetReturned(entries, 'a').keys()]).toEqual(['b']);
    expect(forgetReturned(entries, 'zz')).toBe(entries);
  });
});

describe('mergeRemote', () => {
  const ctx = { selfName: 'me', active: none, retentionMs: 24 * H, now: T0 + 1_000 };
  it.each<
    [string, DepartedEntries, DepartedMember[], (n: string) => boolean, DepartedMember | undefined, number]
  >([
    ['an unknown departed node is learnt', of(), [entry('a')], none, entry('a'), 1],
    ['an entry about ourselves is ignored', of(), [entry('me')], none, undefined, 0],
    ['a node alive in our table is ignored', of(), [entry('a')], (n) => n === 'a', undefined, 0],
    [
      'a node alive in our table is ignored even at a lower incarnation (restarted after the reap)',
      of(),
      [entry('a', { incarnation: 50 })],
      (n) => n === 'a',
      undefined,
      0,
    ],
    ['an expired entry is ignored', of(), [entry('a', { at: T0 - 24 * H })], none, undefined, 0],
    [
      'a higher incarnation wins',
      of(entry('a')),
      [entry('a', { incarnation: 4, at: T0 + 500 })],
      none,
      entry('a', { incarnation: 4, at: T0 + 500 }),
      1,
    ],
    ['a lower incarnation loses', of(entry('a')), [entry('a', { incarnation: 2 })], none, entry('a'), 0],
    [
      'same incarnation: the earlier declaration wins',
      of(entry('a', { at: T0 + 100, by: 'x' })),
      [entry('a', { at: T0, by: 'y' })],
      none,
      entry('a', { at: T0, by: 'y' }),
      1,
    ],
    [
      'same incarnation and time: left beats dead, then the smaller declarer',
      of(entry('a', { by: 'b' })),
      [entry('a', { by: 'a' }), entry('a', { state: 'left', by: 'z' })],
      none,
      entry('a', { state: 'left', by: 'z' }),
      2,
    ],
  ])('%s', (_name, entries, remote, active, expected, added) => {
    const r = mergeRemote(entries, remote, { ...ctx, active });
    expect(r.entries.get(remote[0]?.name ?? '')).toEqual(expected);
    expect(r.added).toBe(added);
  });

  it('converges: two peers merging each other in either order end with the same entries', () => {
    const p = of(entry('a', { at: T0 + 10, by: 'p' }), entry('b', { incarnation: 7 }));
    const q = of(entry('a', { at: T0 + 5, by: 'q' }), entry('b', { incarnation: 6 }), entry('c'));
    const pq = mergeRemote(p, [...q.values()], ctx).entries;
    const qp = mergeRemote(q, [...p.values()], ctx).entries;
    expect(new Map([...pq].sort())).toEqual(new Map([...qp].sort()));
    expect(pq.get('a')?.by).toBe('q');
    expect(pq.get('b')?.incarnation).toBe(7);
  });
});

describe('expiry', () => {
  it('drops an entry exactly retention after it was declared and reports the next expiry', () => {
    const entries = of(entry('a'), entry('b', { at: T0 + H }));
    expect(nextExpiry(entries, 2 * H)).toBe(T0 + 2 * H);
    expect([...expire(entries, 2 * H, T0 + 2 * H - 1).keys()]).toEqual(['a', 'b']);
    expect([...expire(entries, 2 * H, T0 + 2 * H).keys()]).toEqual(['b']);
    expect(expire(entries, 2 * H, T0)).toBe(entries);
    expect(nextExpiry(of(), 2 * H)).toBe(Number.POSITIVE_INFINITY);
  });

  it('shows neither expired entries nor nodes alive in the table; newest first', () => {
    const entries = of(entry('a'), entry('b', { at: T0 + 10 }), entry('c', { at: T0 - 3 * H }));
    expect(visible(entries, none, 2 * H, T0 + 20).map((e) => e.name)).toEqual(['b', 'a']);
    expect(visible(entries, (n) => n === 'b', 2 * H, T0 + 20).map((e) => e.name)).toEqual(['a']);
  });
});

describe('departed user state', () => {
  it('round-trips, newest first', () => {
    const list = [entry('a'), entry('b', { at: T0 + 1, meta: Buffer.from('{"v":1}').toString('base64') })];
    const d = decodeDepartedState(encodeDepartedState(list));
    expect(d).toEqual({ ok: true, members: [list[1], list[0]] });
  });

  it('sends nothing when there is nothing to send, and at most 64 KiB', () => {
    expect(encodeDepartedState([]).length).toBe(0);
    const many = Array.from({ length: 400 }, (_, i) =>
      entry(`node-${i}`, { at: T0 + i, meta: Buffer.alloc(500, 1).toString('base64') }),
    );
    const bytes = encodeDepartedState(many);
    expect(bytes.length).toBeLessThanOrEqual(DEPARTED_STATE_MAX_BYTES);
    const d = decodeDepartedState(bytes);
    if (!d.ok) throw new Error(d.detail);
    expect(d.members.length).toBeGreaterThan(50);
    expect(d.members[0]?.name).toBe('node-399');
  });

  it.each<[string, Uint8Array, 'oversized' | 'malformed']>([
    ['over 64 KiB', Buffer.alloc(DEPARTED_STATE_MAX_BYTES + 1, 0x20), 'oversized'],
    ['not UTF-8', Uint8Array.from([0xff, 0xfe, 0x7b]), 'malformed'],
    ['not JSON', Buffer.from('{"departed":1,'), 'malformed'],
    ['another format version', Buffer.from('{"departed":2,"members":[]}'), 'malformed'],
    [
      'an entry off the schema (negative incarnation)',
      Buffer.from(JSON.stringify({ departed: 1, members: [entry('a', { incarnation: -1 })] })),
      'malformed',
    ],
    [
      'a state that is not dead or left',
      Buffer.from(JSON.stringify({ departed: 1, members: [{ ...entry('a'), state: 'alive' }] })),
      'malformed',
    ],
    ['a JSON bomb of nesting', Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`), 'malformed'],
  ])('refuses a peer state that is %s', (_name, bytes, reason) => {
    const d = decodeDepartedState(bytes);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toBe(reason);
  });
});

describe('membersWithDeparted', () => {
  const info = (name: string, state: MemberInfo['state']): MemberInfo => ({
    name,
    ip: '10.0.0.1',
    port: 8000,
    state,
    incarnation: 1,
    meta: null,
    stateChangeMs: T0,
  });
  it('adds reaped departed nodes as gone, and the declarer to a dead node still in the table', () => {
    const out = membersWithDeparted(
      [info('me', 'alive'), info('d', 'dead')],
      [entry('d', { by: 'go-1' }), entry('r', { at: T0 - 5, state: 'left', by: 'r' })],
    );
    expect(out.map((m) => [m.name, m.state, m.gone ?? false, m.declaredBy])).toEqual([
      ['me', 'alive', false, undefined],
      ['d', 'dead', false, 'go-1'],
      ['r', 'left', true, 'r'],
    ]);
    expect(out[2]?.stateChangeMs).toBe(T0 - 5);
  });
});
