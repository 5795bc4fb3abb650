/**
 * The embedded engine runs one statement at a time (measured: two concurrent scans take twice
 * as long as one, and a one-row query waits behind a scan). Its callers therefore queue here,
 * in two lanes: work on a latency path (`urgently(...)`: the ingestor's inserts, frost
 * evaluation) goes before bulk work (the aggregator's recomputes), so it waits for at most the
 * statement already running instead of a queue of them. Bulk work is never starved: after
 * `URGENT_RUN` urgent statements in a row while bulk work waits, one bulk statement goes.
 * Throughput is unchanged: the engine was serial already. A ClickHouse server runs statements
 * concurrently and needs none of this.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const lane = new AsyncLocalStorage<'urgent'>();

/** Runs `fn` (and every ClickHouse call it starts, awaited or not) in the urgent lane. */
export function urgently<T>(fn: () => T): T {
  return lane.run('urgent', fn);
}

/** Urgent statements served in a row, at most, while bulk work waits. */
export const URGENT_RUN = 3;

/** A FIFO per lane with one statement in flight; the urgent lane goes first, bulk is not starved. */
export class EngineQueue {
  #busy = false;
  #urgentRun = 0;
  readonly #urgent: (() => void)[] = [];
  readonly #bulk: (() => void)[] = [];

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#busy)
      await new Promise<void>((resolve) => (lane.getStore() === 'urgent' ? this.#urgent : this.#bulk).push(resolve));
    this.#busy = true;
    try {
      return await fn();
    } finally {
      const bulkTurn = this.#bulk.length > 0 && (this.#urgent.length === 0 || this.#urgentRun >= URGENT_RUN);
      const next = bulkTurn ? this.#bulk.shift() : this.#urgent.shift();
      this.#urgentRun = bulkTurn ? 0 : this.#urgentRun + 1;
      if (next) next();
      else this.#busy = false;
    }
  }
}

/** Wraps a client connection so every statement goes through one {@link EngineQueue}. */
export function queued<C extends object>(connection: C, methods: readonly string[]): C {
  const queue = new EngineQueue();
  return new Proxy(connection, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || !methods.includes(String(prop)))
        return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) =>
        queue.run(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}
