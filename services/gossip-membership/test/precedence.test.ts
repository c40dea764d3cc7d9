// precedence.ts: which view of a node wins, one row per rule of memberlist state.go aliveNode /
// suspectNode / deadNode (docs/wire.md §11). The record is at incarnation 5 unless the row says
// otherwise; members.test.ts checks the same rules end to end through the member table.
import { describe, expect, it } from 'vitest';
import type { NodeStateName } from '../src/protocol/messages.js';
import { type Precedence, type PrecedenceCase, precedence } from '../src/protocol/precedence.js';

type Row = [string, Omit<PrecedenceCase, 'knownIncarnation'>, Precedence];
const STATES: NodeStateName[] = ['alive', 'suspect', 'dead', 'left'];

const rows: Row[] = [
  // alive about another node: strictly greater incarnation wins, whatever the state.
  ...STATES.flatMap((known): Row[] => [
    [`alive@4 over ${known}@5`, { message: 'alive', incarnation: 4, known }, 'stale'],
    [`alive@5 over ${known}@5`, { message: 'alive', incarnation: 5, known }, 'stale'],
    [`alive@6 over ${known}@5`, { message: 'alive', incarnation: 6, known }, 'alive'],
  ]),
  // A new address for a Left (or reclaimable Dead) node bypasses the incarnation check.
  [
    'alive@1 taking over left@5',
    { message: 'alive', incarnation: 1, known: 'left', takeover: true },
    'alive',
  ],
  // alive about us.
  ['alive@4 about us', { message: 'alive', incarnation: 4, known: 'alive', local: true }, 'stale'],
  [
    'alive@5 about us, our meta and vsn',
    { message: 'alive', incarnation: 5, known: 'alive', local: true, sameMetaAndVsn: true },
    'ignore',
  ],
  [
    'alive@5 about us, other meta',
    { message: 'alive', incarnation: 5, known: 'alive', local: true },
    'refute',
  ],
  ['alive@6 about us', { message: 'alive', incarnation: 6, known: 'alive', local: true }, 'refute'],
  [
    'our own alive@6 at start-up',
    { message: 'alive', incarnation: 6, known: 'alive', local: true, bootstrap: true },
    'alive',
  ],
  [
    'our own alive@4 at start-up',
    { message: 'alive', incarnation: 4, known: 'alive', local: true, bootstrap: true },
    'stale',
  ],
  // suspect: equal incarnation counts; only Alive becomes Suspect.
  ['suspect@4 over alive@5', { message: 'suspect', incarnation: 4, known: 'alive' }, 'stale'],
  ['suspect@5 over alive@5', { message: 'suspect', incarnation: 5, known: 'alive' }, 'suspect'],
  ['suspect@6 over alive@5', { message: 'suspect', incarnation: 6, known: 'alive' }, 'suspect'],
  [
    'suspect@5 over suspected@5',
    { message: 'suspect', incarnation: 5, known: 'suspect', suspected: true },
    'confirm',
  ],
  [
    'suspect@4 over suspected@5',
    { message: 'suspect', incarnation: 4, known: 'suspect', suspected: true },
    'stale',
  ],
  ['suspect@5 over dead@5', { message: 'suspect', incarnation: 5, known: 'dead' }, 'ignore'],
  ['suspect@6 over left@5', { message: 'suspect', incarnation: 6, known: 'left' }, 'ignore'],
  ['suspect@5 about us', { message: 'suspect', incarnation: 5, known: 'alive', local: true }, 'refute'],
  ['suspect@4 about us', { message: 'suspect', incarnation: 4, known: 'alive', local: true }, 'stale'],
  // dead: equal incarnation counts; Dead and Left stay; Node == From is a leave.
  ['dead@4 over alive@5', { message: 'dead', incarnation: 4, known: 'alive' }, 'stale'],
  ['dead@5 over alive@5', { message: 'dead', incarnation: 5, known: 'alive' }, 'dead'],
  ['dead@6 over suspect@5', { message: 'dead', incarnation: 6, known: 'suspect' }, 'dead'],
  ['leave@5 over alive@5', { message: 'dead', incarnation: 5, known: 'alive', selfDeclared: true }, 'left'],
  [
    'leave@5 over suspect@5',
    { message: 'dead', incarnation: 5, known: 'suspect', selfDeclared: true },
    'left',
  ],
  ['dead@6 over dead@5', { message: 'dead', incarnation: 6, known: 'dead' }, 'ignore'],
  ['dead@6 over left@5', { message: 'dead', incarnation: 6, known: 'left' }, 'ignore'],
  ['leave@6 over dead@5', { message: 'dead', incarnation: 6, known: 'dead', selfDeclared: true }, 'ignore'],
  ['dead@5 about us', { message: 'dead', incarnation: 5, known: 'alive', local: true }, 'refute'],
  [
    'our own leave@5 while leaving',
    { message: 'dead', incarnation: 5, known: 'alive', local: true, selfDeclared: true, leaving: true },
    'left',
  ],
  ['dead@4 about us', { message: 'dead', incarnation: 4, known: 'alive', local: true }, 'stale'],
];

describe('precedence (memberlist state.go)', () => {
  it.each(rows)('%s', (_name, c, expected) => {
    expect(precedence({ knownIncarnation: 5, ...c })).toBe(expected);
  });
});
