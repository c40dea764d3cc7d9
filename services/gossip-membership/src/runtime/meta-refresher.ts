// Keeps our gossiped node meta current: every `pollMs` it reads the device load, builds the meta,
// and publishes it (the engine re-broadcasts an alive with a higher incarnation) only when
// meta-policy says the change is meaningful and `minIntervalMs` has passed since the last publish.
// A change that is still too recent is picked up by a later poll, so it is delayed by at most
// pollMs after the interval ends, never lost. A failed read keeps the last known load.
import { type DeviceLoad, encodeNodeMeta, type NodeMeta } from '@edgefleet/contracts';
import type { Logger } from 'pino';
import { buildNodeMeta, type HwFacts, type StaticMeta } from '../meta/build-meta.js';
import { decidePublish } from '../meta/meta-policy.js';

export interface MetaRefresherOptions {
  staticMeta: StaticMeta;
  readLoad: () => Promise<DeviceLoad | undefined>;
  /** Live device facts (TegrastatsSampler.current); absent = none. */
  readHw?: () => HwFacts | undefined;
  /** Hands new meta bytes to the engine (Engine.updateMeta through the driver). */
  publish: (meta: Uint8Array) => void;
  pollMs: number;
  minIntervalMs: number;
  logger: Logger;
  /** Wall clock, ms. */
  now?: () => number;
}

export class MetaRefresher {
  #published: NodeMeta;
  #publishedAt: number;
  #lastLoad: DeviceLoad | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #publishes = 0;
  readonly #o: MetaRefresherOptions;
  readonly #now: () => number;

  constructor(o: MetaRefresherOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#published = buildNodeMeta(o.staticMeta, undefined);
    this.#publishedAt = this.#now();
  }

  /** Meta to start with (no load yet); throws NodeMetaTooLarge when the static part is over 512 bytes. */
  initialMeta(): Uint8Array {
    return encodeNodeMeta(this.#published);
  }

  /** Publishes since start (for tests and metrics). */
  get publishes(): number {
    return this.#publishes;
  }

  get current(): NodeMeta {
    return this.#published;
  }

  /** One poll: read, decide, maybe publish. */
  async poll(): Promise<void> {
    const load = await this.#o.readLoad();
    if (load) this.#lastLoad = load;
    const next = buildNodeMeta(this.#o.staticMeta, this.#lastLoad, this.#o.readHw?.());
    const now = this.#now();
    const decision = decidePublish(this.#published, this.#publishedAt, next, now, this.#o.minIntervalMs);
    if (decision.kind !== 'publish') return;
    let bytes: Uint8Array;
    try {
      bytes = encodeNodeMeta(next);
    } catch (err) {
      this.#o.logger.error({ err: { message: (err as Error).message } }, 'node meta not published');
      return;
    }
    this.#published = next;
    this.#publishedAt = now;
    this.#publishes++;
    this.#o.publish(bytes);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const loop = () => {
      this.#timer = setTimeout(() => {
        void this.poll()
          .catch((err) =>
            this.#o.logger.warn({ err: { message: (err as Error).message } }, 'meta poll failed'),
          )
          .finally(() => {
            if (this.#running) loop();
          });
      }, this.#o.pollMs);
      this.#timer.unref();
    };
    loop();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }
}
