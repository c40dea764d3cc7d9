// Shared set-up of the files that run our built service next to Go memberlist peers: fail early
// with a clear message when the service is not built, build the Go peer once, and kill every node
// the file registered when it ends (also when a test failed halfway).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { buildGoPeer } from '../../support/go-peer.js';
import { serviceEntry } from '../../support/ts-node.js';

export interface Killable {
  kill(): Promise<unknown>;
}

/** Checks the build, returns the Go peer's binary path. */
export async function prepareInterop(): Promise<string> {
  if (!existsSync(serviceEntry))
    throw new Error(`build first (cd /work/main && pnpm build): ${serviceEntry} missing`);
  return buildGoPeer();
}

/** Registers the file's beforeAll/afterAll; push every started node into the returned list. */
export function useInteropNodes(): Killable[] {
  const nodes: Killable[] = [];
  beforeAll(prepareInterop);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill().catch(() => undefined)));
  });
  return nodes;
}
