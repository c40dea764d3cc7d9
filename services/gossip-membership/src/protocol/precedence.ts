// Which of two views of a node wins: the member table's record (state, incarnation) or an alive,
// suspect or dead message about it. memberlist state.go aliveNode / suspectNode / deadNode
// (docs/wire.md §11), as one pure decision; members.ts carries it out (broadcasts, events, timers).
//
//   alive    about another node: needs a STRICTLY greater incarnation, unless it takes over the
//            name of a Left (or reclaimable Dead) node at a new address, which bypasses the check.
//            About us: a lower incarnation is stale; at start-up or on a meta update (bootstrap)
//            it is ours and accepted; otherwise the same incarnation with our meta and vsn changes
//            nothing, and anything else is an outdated view of us: refute.
//   suspect  stale below the known incarnation (equal counts). A running suspicion counts it as a
//            confirmation; otherwise only an Alive node becomes Suspect; about us: refute.
//   dead     stale below the known incarnation (equal counts); nothing to do for a node already
//            Dead or Left; about us: refute, unless we are leaving (our own leave). Node == From is
//            a voluntary leave (Left), anything else Dead.
import type { NodeStateName } from './messages.js';

export interface PrecedenceCase {
  message: 'alive' | 'suspect' | 'dead';
  /** The message's incarnation. */
  incarnation: number;
  /** The record's state and incarnation. */
  known: NodeStateName;
  knownIncarnation: number;
  /** The record is us. */
  local?: boolean;
  /** alive: our own alive at start-up or on a meta update (never refuted). */
  bootstrap?: boolean;
  /** alive about us: it carries our current meta and vsn. */
  sameMetaAndVsn?: boolean;
  /** alive about another node: a new address for a Left (or reclaimable Dead) node. */
  takeover?: boolean;
  /** suspect: a suspicion of the node is already running. */
  suspected?: boolean;
  /** dead: Node == From, the node announced its own leave. */
  selfDeclared?: boolean;
  /** dead about us: we are leaving. */
  leaving?: boolean;
}

/**
 * stale   the message is older than the record: dropped, nothing else happens;
 * ignore  not older, but it changes nothing (a dead message still ends a running suspicion);
 * confirm one more independent suspicion of an already suspected node;
 * refute  an accusation (or an outdated alive) about us: raise our incarnation and gossip alive;
 * a state the record takes, with the message's incarnation.
 */
export type Precedence = 'stale' | 'ignore' | 'confirm' | 'refute' | NodeStateName;

export function precedence(c: PrecedenceCase): Precedence {
  const local = c.local ?? false;
  switch (c.message) {
    case 'alive':
      if (local) {
        if (c.incarnation < c.knownIncarnation) return 'stale';
        if (c.bootstrap) return 'alive';
        return c.incarnation === c.knownIncarnation && c.sameMetaAndVsn ? 'ignore' : 'refute';
      }
      if (c.incarnation <= c.knownIncarnation && !c.takeover) return 'stale';
      return 'alive';
    case 'suspect':
      if (c.incarnation < c.knownIncarnation) return 'stale';
      if (c.suspected) return 'confirm';
      if (c.known !== 'alive') return 'ignore';
      return local ? 'refute' : 'suspect';
    case 'dead':
      if (c.incarnation < c.knownIncarnation) return 'stale';
      if (c.known === 'dead' || c.known === 'left') return 'ignore';
      if (local && !c.leaving) return 'refute';
      return c.selfDeclared ? 'left' : 'dead';
  }
}
