/**
 * The stage contract every component follows: built from resolved config, `start()`, then
 * `close()`. A second `close()` returns the first one's promise (kafkajs `sharedPromiseTo`).
 */

/** A component with a start and a close. */
export interface Stage {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Liveness checks for `/healthz`: false only when the component cannot heal in-process. */
  liveness?(): Record<string, () => boolean>;
}

/** Wraps a close function so that every call after the first shares its promise. */
export function sharedPromise(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

/** Exit code of a stop that missed its deadline: not drained; uncommitted work is redelivered. */
export const EXIT_NOT_DRAINED = 75;

/**
 * Runs until SIGTERM or SIGINT, then calls `stop` once and exits 0 when it drained, 1 if
 * stopping failed, and `EXIT_NOT_DRAINED` (75) when it did not finish within `deadlineMs` (a
 * sink stalled, the broker away): what was committed stays committed, the rest is redelivered.
 * A second signal while stopping exits at once with 130.
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  log: (msg: string, err?: unknown) => void,
  deadlineMs = 25_000,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting without draining`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: draining and stopping (at most ${Math.round(deadlineMs / 1000)} s)`);
    setTimeout(() => {
      log(`not drained within ${Math.round(deadlineMs / 1000)} s: exiting; uncommitted batches will be redelivered`);
      process.exit(EXIT_NOT_DRAINED);
    }, deadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log('stop failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Sleeps `ms`, or less when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
