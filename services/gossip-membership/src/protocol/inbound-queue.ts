// memberlist's inbound handoff (≥ 0.2.x net.go handleCommand / handoff / getNextMessage and
// packetHandler): ping, indirect ping, ack and nack are answered at once; suspect, dead and user
// messages wait in a low-priority queue and alive messages in a high-priority one, each at most
// HandoffQueueDepth (1024) long: a message arriving at a full queue is dropped ("handler queue full").
// The handler always takes an alive first, and from each queue the NEWEST message first (LIFO:
// under overload fresh news beats stale). So a flood of suspicions cannot starve the alive that
// refutes them. Pure: the driver decides when to drain (memberlist drains on its own goroutine).
import type { Message } from './messages.js';

export interface Queued {
  message: Message;
  /** Opaque sender information, handed back with the message. */
  from: unknown;
}

export type HandoffResult = 'inline' | 'queued' | 'dropped';

export class InboundQueue {
  readonly #high: Queued[] = [];
  readonly #low: Queued[] = [];
  #dropped = 0;

  constructor(readonly depth = 1024) {}

  /** Where a message goes: `inline` = handle now (probe traffic), else queued or dropped. */
  push(message: Message, from: unknown): HandoffResult {
    if (
      message.type === 'ping' ||
      message.type === 'indirectPing' ||
      message.type === 'ackResp' ||
      message.type === 'nackResp'
    )
      return 'inline';
    const q = message.type === 'alive' ? this.#high : this.#low;
    if (q.length >= this.depth) {
      this.#dropped++;
      return 'dropped';
    }
    q.push({ message, from });
    return 'queued';
  }

  /** The next message to handle: newest alive, else newest other; undefined when both are empty. */
  next(): Queued | undefined {
    return this.#high.pop() ?? this.#low.pop();
  }

  get length(): number {
    return this.#high.length + this.#low.length;
  }

  /** Messages dropped because their queue was full. */
  get dropped(): number {
    return this.#dropped;
  }
}
