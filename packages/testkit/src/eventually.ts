// Wait for an observable condition with a deadline, instead of sleeping and hoping.

export interface EventuallyOptions {
  /** Give up after this long, in ms (default 10 000). */
  timeoutMs?: number;
  /** Poll interval, in ms (default 25). */
  intervalMs?: number;
  /** Described in the timeout error. */
  what?: string;
}

/**
 * Calls `fn` until it returns without throwing and its value is not `false`/`undefined`/`null`;
 * resolves to that value. On timeout, rejects with the last error (or the last falsy value).
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  opts: EventuallyOptions = {},
): Promise<NonNullable<Exclude<T, false>>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v !== undefined && v !== null) return v as NonNullable<Exclude<T, false>>;
      last = new Error(`condition returned ${String(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const err = new Error(
        `eventually${opts.what ? ` (${opts.what})` : ''}: timed out after ${opts.timeoutMs ?? 10_000} ms: ${(last as Error)?.message ?? String(last)}`,
      );
      (err as Error & { cause?: unknown }).cause = last;
      throw err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** Resolves when `emitter` emits `event` (and `filter` accepts it), rejects after `timeoutMs`. */
export function waitForEvent<T = unknown>(
  emitter: NodeJS.EventEmitter,
  event: string,
  timeoutMs = 10_000,
  filter: (v: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    function on(v: T) {
      if (!filter(v)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(v);
    }
    emitter.on(event, on);
  });
}
