// Back-pressure: how many messages the next ReceiveMessage may ask for, given the device's backlog
// (jobs handed off but not yet taken by the executor). 0 means "do not poll": messages stay in SQS
// where another device can take them. Asking for no more than the room left keeps the backlog from
// overshooting the limit by a whole batch.

/** Messages to request: min(batchSize, maxBacklog − backlog), or 0 when the backlog is at the limit. */
export function pollBudget(backlog: number, maxBacklog: number, batchSize: number): number {
  const room = maxBacklog - Math.max(0, backlog);
  if (room <= 0) return 0;
  return Math.max(0, Math.min(batchSize, room));
}
