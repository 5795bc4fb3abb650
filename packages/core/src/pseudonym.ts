/**
 * Pseudonyms: the design's keyed MAC over tenant and meter ID.
 *
 *   pseudonym = hex(HMAC-SHA256(key, tenant + "\u001f" + meterId)[0..16])
 *
 * A keyed MAC, never a plain hash: meter IDs are few and structured (18-digit GSRNs), so a
 * plain hash is reversed by enumeration. An HMAC costs ~2 µs, so a fleet's steady state is
 * served from an LRU cache keyed by the same input.
 */
import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Computes one pseudonym without caching (operators' look-ups, tests). */
export function pseudonymOf(key: Buffer, tenant: string, meterId: string): string {
  return createHmac('sha256', key).update(`${tenant}\u001f${meterId}`, 'utf8').digest().subarray(0, 16).toString('hex');
}

/** Options of a {@link Pseudonymiser}. */
export interface PseudonymiserOptions {
  /** HMAC key, at least 32 bytes. */
  key: Buffer;
  /** How many (tenant, meter) pairs to keep; a fleet's active meters should fit. */
  cacheSize?: number;
}

/** Cached pseudonymiser; one per process is enough. */
export class Pseudonymiser {
  readonly #key: Buffer;
  readonly #cache: LRUCache<string, string>;
  #misses = 0;

  constructor(options: PseudonymiserOptions) {
    if (options.key.length < 32) throw new RangeError('pseudonym key must be at least 32 bytes');
    this.#key = Buffer.from(options.key);
    this.#cache = new LRUCache({ max: options.cacheSize ?? 1_000_000 });
  }

  /** The pseudonym of a meter of a tenant. */
  of(tenant: string, meterId: string): string {
    const input = `${tenant}\u001f${meterId}`;
    let p = this.#cache.get(input);
    if (p === undefined) {
      this.#misses++;
      p = createHmac('sha256', this.#key).update(input, 'utf8').digest().subarray(0, 16).toString('hex');
      this.#cache.set(input, p);
    }
    return p;
  }

  /** HMACs computed so far (cache misses). */
  get misses(): number {
    return this.#misses;
  }
}
