// What every service's factory returns (createReceiver, createExecutor, createUploader,
// createGossipNode): the same object main.ts, the tests, the benchmarks and the single-process node
// (`edgefleet node`) drive, so all of them run the production wiring.
//
// Ownership: the factory closes every client it created and none it was given (ServiceDeps). `stop()`
// runs the service's closers in order, the reverse of start-up (loops first, HTTP, then clients),
// each bounded by what is left of one deadline (closeAll in shutdown.ts).
import type { FastifyInstance } from 'fastify';
import type { LevelWithSilent, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger } from './logger.js';
import type { Redis } from './redis.js';
import { installShutdown } from './shutdown.js';

export interface ServiceHandle {
  readonly service: string;
  /** The service's logger (a child of ServiceDeps.logger when one was given). */
  readonly logger: Logger;
  /** The HTTP app: routes are registered; it listens only after start(). */
  readonly app: FastifyInstance;
  /** Listens on the configured host and port and starts the service's loops. */
  start(): Promise<void>;
  /** Stops the loops, the HTTP server, then the clients the factory created. True when all closed in time. */
  stop(deadlineMs?: number): Promise<boolean>;
  /** Port the HTTP server listens on (after start(); the configured port may be 0). */
  port(): number;
}

/** Clients and sinks a caller may inject; the factory creates (and then closes) whatever is absent. */
export interface ServiceDeps {
  /** The parent logger: the service logs through `logger.child({ service })`. */
  logger?: Logger;
  /** The metrics registry; absent: the service's own. */
  registry?: Registry;
  /** A Redis connection for commands; absent: one from the config's URL. Never closed by the service. */
  redis?: Redis;
}

/**
 * The logger a factory logs through: a child of the injected parent carrying `service`, at the
 * service's own configured level (a pino child's level is its own, so in the single-process node
 * `EDGEFLEET_EXECUTOR__LOG_LEVEL=debug` makes the executor verbose and leaves the others as they are);
 * without a parent, the service's own logger at that level.
 */
export function serviceLogger(deps: ServiceDeps, service: string, level: LevelWithSilent): Logger {
  return deps.logger?.child({ service }, { level }) ?? createLogger({ service, level });
}

/**
 * main.ts's body: build the service with its factory, start it, and stop it on SIGTERM/SIGINT within
 * the config's shutdown deadline (exit 0 when clean, 1 otherwise; a second signal exits at once).
 */
export async function startUntilSignal(handle: ServiceHandle, deadlineMs: number): Promise<void> {
  await handle.start();
  installShutdown({
    logger: handle.logger,
    deadlineMs,
    closers: [
      {
        name: handle.service,
        close: async () => {
          if (!(await handle.stop(deadlineMs))) throw new Error(`${handle.service} did not stop cleanly`);
        },
      },
    ],
  });
}
