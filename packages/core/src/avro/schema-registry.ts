/**
 * Writer schemas by Confluent schema ID, from `GET {url}/schemas/ids/{id}`, with limits: at most
 * `maxConcurrentLookups` requests in flight (a queue beyond), at most `maxLookupsPerBatch` unknown
 * IDs looked up per `prepare()` (the rest are refused for that batch), an LRU of known IDs and
 * an LRU of negative answers (404, unusable schema) that are asked again only after a TTL.
 *
 * Hand-written rather than `@kafkajs/confluent-schema-registry` (4.1.0): that client caches every
 * schema by ID in a plain object for ever, neither shares nor bounds concurrent lookups and has
 * no negative cache, so random IDs in a batch mean one request each and a cache that only grows;
 * it decodes Confluent framing only (our CRC-64 single-object path and the reader/writer resolution
 * of `SchemaSet` stay ours anyway), and it brings mappersmith, ajv and protobufjs and its own avsc
 * range. What we need of the registry API is one GET.
 */
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { MeterError, type MeterErrorCode } from '../errors.js';

/** What one ID of one `prepare()` came to, the label of `meterstream_schema_registry_lookups_total`. */
export type LookupOutcome = 'hit' | 'miss' | 'not_found' | 'error' | 'skipped';

/** Options of {@link SchemaRegistryClient}. */
export interface SchemaRegistryOptions<T> {
  /** Registry base URL; may carry `user:password@` for basic auth. */
  url: string;
  /** Turns the schema text of `id` into what the cache keeps; throws a non-retriable MeterError for an unusable schema. */
  bind: (schema: string, id: number) => T;
  /** Timeout of one request in ms; default 10 000. */
  timeoutMs?: number;
  /** How long a 404 or an unusable schema is remembered before asking again, in ms; default 60 000. */
  negativeTtlMs?: number;
  /** Requests in flight at most; default 4. */
  maxConcurrentLookups?: number;
  /** Unknown IDs one `prepare()` looks up at most; the others are refused for that batch (default 32). */
  maxLookupsPerBatch?: number;
  /** Known IDs kept (LRU); default 1 000. */
  cacheSize?: number;
  /** Negative answers kept (LRU); default 10 000. */
  negativeCacheSize?: number;
  /** Clock for the negative TTL; default `Date.now`. */
  now?: () => number;
  /** Registry of `meterstream_schema_registry_lookups_total`; none by default. */
  metrics?: Registry;
}

/** Why a message is refused; the MeterError is built per use, not kept. */
interface Refusal {
  readonly code: MeterErrorCode;
  readonly message: string;
}

/** A remembered negative answer: asked again after `until`. */
interface Negative extends Refusal {
  readonly until: number;
}

/** A `decode()`-time answer: the bound value, the error the message is refused with, or not looked up. */
export type Cached<T> = { ok: true; value: T } | { ok: false; error: MeterError } | undefined;

const lookupCounters = new WeakMap<Registry, Counter<'outcome'>>();

function lookupCounter(registry: Registry): Counter<'outcome'> {
  let counter = lookupCounters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'meterstream_schema_registry_lookups_total',
      help: 'Schema IDs a batch needed, by outcome: hit (cached, also negative), miss (fetched), not_found (404 or unusable), error (retriable), skipped (over the per-batch limit).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    lookupCounters.set(registry, counter);
  }
  return counter;
}

/** The slice of Confluent's schema registry API the codec uses, bounded in requests and memory. */
export class SchemaRegistryClient<T extends object> {
  private readonly http: RegistryHttp;
  private readonly bind: (schema: string, id: number) => T;
  private readonly negativeTtlMs: number;
  private readonly maxLookupsPerBatch: number;
  private readonly now: () => number;
  private readonly counter: Counter<'outcome'> | undefined;
  private readonly known: LRUCache<number, T>;
  private readonly negative: LRUCache<number, Negative>;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly slots: Semaphore;
  // Refusals for the per-batch limit are kept per message Buffer, not per ID: a batch may carry
  // any number of distinct IDs, and a bounded per-ID cache could evict some before decode() reads
  // them (the batch would be retried for ever). The WeakMap lives exactly as long as the batch.
  private readonly refused = new WeakMap<Buffer, Refusal>();

  constructor(options: SchemaRegistryOptions<T>) {
    this.http = new RegistryHttp(options.url, options.timeoutMs ?? 10_000);
    this.bind = options.bind;
    this.negativeTtlMs = options.negativeTtlMs ?? 60_000;
    this.maxLookupsPerBatch = options.maxLookupsPerBatch ?? 32;
    this.now = options.now ?? Date.now;
    this.counter = options.metrics ? lookupCounter(options.metrics) : undefined;
    this.known = new LRUCache({ max: options.cacheSize ?? 1_000 });
    this.negative = new LRUCache({ max: options.negativeCacheSize ?? 10_000 });
    this.slots = new Semaphore(options.maxConcurrentLookups ?? 4);
  }

  /** Known IDs cached now (for tests and introspection). */
  get size(): { known: number; negative: number } {
    return { known: this.known.size, negative: this.negative.size };
  }

  /**
   * What `decode()` knows of the message `buf` framed with schema `id`: the bound value, the
   * (non-retriable) error to refuse it with, or undefined when no `prepare()` looked it up.
   * A negative answer stays usable past its TTL here; only `prepare()` asks again.
   */
  cached(id: number, buf: Buffer): Cached<T> {
    const value = this.known.get(id);
    if (value !== undefined) return { ok: true, value };
    const no = this.negative.get(id) ?? this.refused.get(buf);
    return no ? { ok: false, error: new MeterError(no.code, no.message) } : undefined;
  }

  /**
   * Looks up the schema IDs of a batch's Confluent-framed messages (`[message, id]` pairs) that
   * are neither known nor negatively cached within the TTL: the first `maxLookupsPerBatch`
   * distinct ones, each once even across concurrent callers; messages with IDs beyond that are
   * refused for this batch (METER_ERR_AVRO_UNKNOWN_SCHEMA). Rejects with a retriable
   * METER_ERR_SCHEMA_REGISTRY when the registry is unreachable, times out or answers 5xx/429/408:
   * retry the batch.
   */
  async prepare(framed: Iterable<readonly [Buffer, number]>): Promise<void> {
    const now = this.now();
    const seen = new Set<number>();
    const wanted: number[] = [];
    const over = new Set<number>();
    let hits = 0;
    for (const [buf, id] of framed) {
      if (seen.has(id)) {
        if (over.has(id)) this.refuse(buf, id);
        continue;
      }
      seen.add(id);
      if (this.known.has(id) || (this.negative.peek(id)?.until ?? -Infinity) > now) hits++;
      else if (wanted.length < this.maxLookupsPerBatch) wanted.push(id);
      else {
        over.add(id);
        this.refuse(buf, id);
      }
    }
    if (hits > 0) this.counter?.inc({ outcome: 'hit' }, hits);
    if (over.size > 0) this.counter?.inc({ outcome: 'skipped' }, over.size);
    if (wanted.length > 0) await Promise.all(wanted.map((id) => this.lookup(id)));
    // Mark this batch's IDs most recently used, so that other callers' lookups evict others first.
    for (const id of seen) if (this.known.get(id) === undefined) this.negative.get(id);
  }

  private refuse(buf: Buffer, id: number): void {
    this.refused.set(buf, {
      code: 'METER_ERR_AVRO_UNKNOWN_SCHEMA',
      message: `schema ${id} not looked up: more than ${this.maxLookupsPerBatch} unknown schema IDs in one batch`,
    });
  }

  private lookup(id: number): Promise<void> {
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.slots.run(() => this.fetchAndBind(id)).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  private async fetchAndBind(id: number): Promise<void> {
    try {
      const schema = await this.http.schemaById(id);
      if (schema === undefined) {
        throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema ${id} not found in the registry (404)`);
      }
      this.known.set(id, this.bind(schema, id));
      this.negative.delete(id);
      this.counter?.inc({ outcome: 'miss' });
    } catch (err) {
      const error = err instanceof MeterError ? err : new MeterError('METER_ERR_INTERNAL', String(err), { cause: err });
      if (error.retriable) {
        // No cache entry: the batch is retried and asks again.
        this.counter?.inc({ outcome: 'error' });
        throw error;
      }
      this.negative.set(id, { code: error.code, message: error.message, until: this.now() + this.negativeTtlMs });
      this.counter?.inc({ outcome: 'not_found' });
    }
  }
}

/** At most `max` tasks at once; the others wait in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new MeterError('METER_ERR_CONFIG', `maxConcurrentLookups must be at least 1, got ${max}`);
  }

  async run<R>(task: () => Promise<R>): Promise<R> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never exceeds `max`.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** One GET against the registry, with basic auth from the URL and errors mapped to MeterError. */
class RegistryHttp {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    const parsed = new URL(url);
    this.headers = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    // fetch() refuses URLs with credentials, so basic auth moves into a header.
    if (parsed.username || parsed.password) {
      const creds = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.headers.authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.base = parsed.toString().replace(/\/+$/, '');
  }

  /** The schema text of `id`, undefined on 404. Network errors, timeouts and 5xx/429 reject retriable. */
  async schemaById(id: number): Promise<string | undefined> {
    const url = `${this.base}/schemas/ids/${id}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema registry unreachable: ${(cause as Error).message}`, {
        retriable: true,
        cause,
      });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const retriable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema registry answered ${res.status} for schema ${id}`, {
        retriable,
      });
    }
    let body: { schema?: unknown; schemaType?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (cause) {
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema registry sent invalid JSON for schema ${id}`, {
        retriable: true,
        cause,
      });
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new MeterError(
        'METER_ERR_AVRO_UNKNOWN_SCHEMA',
        `registry schema ${id} is ${String(body.schemaType)}, not Avro`,
      );
    }
    if (typeof body.schema !== 'string') {
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema registry response for ${id} has no schema`, {
        retriable: true,
      });
    }
    return body.schema;
  }
}
