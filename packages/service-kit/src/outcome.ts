// What a stream handler decided, as a value (never a thrown string).
import type { ReasonCode } from '@edgefleet/contracts';

export type HandlerOutcome =
  /** Done: the consumer XACKs the entry. */
  | { kind: 'ack' }
  /** Done, and the handler already acknowledged the entry atomically with its effect (transition script). */
  | { kind: 'acked' }
  /** Not done: leave the entry pending; it is delivered again after the claim idle time. */
  | { kind: 'retry'; reason: string }
  /** Can never succeed: move to the dead stream with this reason. */
  | { kind: 'dead-letter'; code: ReasonCode; detail: string };

export const ack = (): HandlerOutcome => ({ kind: 'ack' });
export const acked = (): HandlerOutcome => ({ kind: 'acked' });
export const retry = (reason: string): HandlerOutcome => ({ kind: 'retry', reason });
export const deadLetter = (code: ReasonCode, detail: string): HandlerOutcome => ({
  kind: 'dead-letter',
  code,
  detail,
});
