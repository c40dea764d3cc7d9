// Who this process is: the node name (gossip name, notification `node`) and a stable instance id
// (the consumer name in Redis groups, so a restart re-reads its own pending entries).
import { hostname } from 'node:os';

export function nodeNameOf(configured?: string): string {
  return configured ?? hostname();
}

export function instanceIdOf(service: string, configured: string | undefined, nodeName: string): string {
  return configured ?? `${service}-${nodeName}`;
}
