/**
 * Erasure announcements within one process. The process's composition creates one notifier
 * and passes it (as `ServiceDeps.erasures`) to whatever erases meters (the data API routes)
 * and whatever keeps per-meter state in memory (the anomaly service's detector state), so a
 * later write of that state cannot bring an erased meter back. Processes that erase
 * elsewhere are not heard here: listeners also poll `erasure_audit` for those.
 */
export type ErasureListener = (pseudonym: string) => void;

export class ErasureNotifier {
  readonly #listeners = new Set<ErasureListener>();

  /** Calls every listener with the pseudonym, before the erasure's deletes run. */
  announce(pseudonym: string): void {
    for (const l of this.#listeners) l(pseudonym);
  }

  /** Adds a listener; the returned function removes it again. */
  subscribe(listener: ErasureListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** How many listeners are subscribed. */
  get listenerCount(): number {
    return this.#listeners.size;
  }
}
