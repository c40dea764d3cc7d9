// Metrics of the reconnect loop (protocol/reconnect.ts), read from the engine at scrape time:
// how many dead nodes it is still trying, and how many push/pulls it has started.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Engine } from './protocol/engine.js';

export function registerReconnectMetrics(registry: Registry, engine: () => Engine | undefined): void {
  new Gauge({
    name: 'gossip_reconnect_candidates',
    help: 'Dead nodes the reconnect loop still tries (0 with --reconnect=false)',
    registers: [registry],
    collect() {
      this.set(engine()?.reconnectCandidates.length ?? 0);
    },
  });
  let counted = 0;
  new Counter({
    name: 'gossip_reconnect_attempts_total',
    help: 'Push/pulls the reconnect loop started with dead nodes',
    registers: [registry],
    collect() {
      const now = engine()?.reconnectAttempts ?? 0;
      if (now > counted) this.inc(now - counted);
      counted = Math.max(counted, now);
    },
  });
}
