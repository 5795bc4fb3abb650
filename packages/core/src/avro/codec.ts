/**
 * Decodes and encodes meterstream's Avro wire formats, detected per message:
 *
 * - Avro single-object encoding: `C3 01`, the writer schema's CRC-64-AVRO fingerprint
 *   (8 bytes, little-endian), the body. Writers are the versions in `schemas/avro/`.
 * - Confluent framing: `00`, the schema ID (4 bytes, big-endian), the body — only with a
 *   schema registry configured. Writer schemas come from `GET {url}/schemas/ids/{id}`.
 *
 * Decoding is synchronous: `decode()` never awaits, so a consumer decodes a whole Kafka batch
 * in one loop. Writer schemas from the registry must be in the cache first: call
 * `await codec.prepare(batch)` once per batch (it fetches the IDs it has not seen, each once,
 * concurrent requests de-duplicated), or `decodeAsync()` for a single message. `decode()` of a
 * Confluent message whose ID was never fetched throws a retriable METER_ERR_SCHEMA_REGISTRY.
 */
import { MeterError } from '../errors.js';
import { fingerprintBytes, schemaFingerprint } from './fingerprint.js';
import {
  BlockCountError,
  loadSchemaSet,
  parseAvroSchema,
  type RecordName,
  type RecordValues,
  type SchemaSet,
  type WriterBinding,
} from './schema-set.js';

/** A decoded message: `schema` names the record (from the writer's full name), `value` is the reader-shaped value. */
export type Decoded = { [K in RecordName]: { schema: K; value: RecordValues[K] } }[RecordName];

/** Options of {@link AvroCodec}; all optional. */
export interface AvroCodecOptions {
  /** The schemas; default `loadSchemaSet(schemaDir)`. */
  schemas?: SchemaSet;
  /** Directory of `<Record>/v<N>.avsc`; default the repository's `schemas/avro/`. Ignored with `schemas`. */
  schemaDir?: string;
  /** Confluent schema registry base URL (`SCHEMA_REGISTRY_URL`); unset disables Confluent framing. May carry `user:password@` for basic auth. */
  schemaRegistryUrl?: string;
  /** Timeout of one registry request in ms; default 10 000. */
  registryTimeoutMs?: number;
  /** How long a 404 or an unusable registry schema is remembered before asking again, in ms; default 60 000. */
  registryNegativeTtlMs?: number;
}

/** First byte of Confluent framing. */
export const CONFLUENT_MAGIC = 0x00;
/** First two bytes of Avro single-object encoding. */
export const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);

const SINGLE_OBJECT_HEADER = 10;
const CONFLUENT_HEADER = 5;

type RegistryEntry =
  | { readonly ok: true; readonly binding: WriterBinding }
  | { readonly ok: false; readonly error: MeterError; readonly until: number };

export class AvroCodec {
  readonly schemas: SchemaSet;
  private readonly registry: RegistryClient | undefined;
  private readonly negativeTtlMs: number;
  private readonly byId = new Map<number, RegistryEntry>();
  private readonly inFlight = new Map<number, Promise<void>>();

  constructor(options: AvroCodecOptions = {}) {
    this.schemas = options.schemas ?? loadSchemaSet(options.schemaDir);
    this.negativeTtlMs = options.registryNegativeTtlMs ?? 60_000;
    this.registry = options.schemaRegistryUrl
      ? new RegistryClient(options.schemaRegistryUrl, options.registryTimeoutMs ?? 10_000)
      : undefined;
  }

  /**
   * Decodes one message. Throws MeterError: METER_ERR_AVRO_MAGIC (neither framing, or
   * Confluent without a registry), METER_ERR_AVRO_TRUNCATED, METER_ERR_AVRO_UNKNOWN_SCHEMA,
   * METER_ERR_AVRO_DECODE (bad enum/union index, trailing bytes, ...), and for Confluent
   * messages whose schema is not cached a retriable METER_ERR_SCHEMA_REGISTRY (see `prepare`).
   */
  decode(buf: Buffer): Decoded {
    if (buf.length >= 2 && buf[0] === 0xc3 && buf[1] === 0x01) {
      if (buf.length < SINGLE_OBJECT_HEADER) {
        throw new MeterError('METER_ERR_AVRO_TRUNCATED', `single-object header needs 10 bytes, got ${buf.length}`);
      }
      const binding = this.schemas.bindingAt(buf, 2);
      if (!binding) {
        throw new MeterError(
          'METER_ERR_AVRO_UNKNOWN_SCHEMA',
          `unknown writer fingerprint ${buf.toString('hex', 2, 10)}`,
        );
      }
      return decodeBody(binding, buf, SINGLE_OBJECT_HEADER);
    }
    if (buf.length >= 1 && buf[0] === CONFLUENT_MAGIC && this.registry) {
      if (buf.length < CONFLUENT_HEADER) {
        throw new MeterError('METER_ERR_AVRO_TRUNCATED', `Confluent header needs 5 bytes, got ${buf.length}`);
      }
      const id = buf.readUInt32BE(1);
      const entry = this.byId.get(id);
      if (entry?.ok) return decodeBody(entry.binding, buf, CONFLUENT_HEADER);
      if (entry && entry.until > Date.now()) throw entry.error;
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema ${id} not fetched yet; await prepare() first`, {
        retriable: true,
      });
    }
    throw new MeterError('METER_ERR_AVRO_MAGIC', magicMessage(buf, this.registry !== undefined));
  }

  /**
   * Fetches the registry schemas that Confluent-framed messages among `values` need and the
   * cache lacks (each ID once; concurrent callers share a request). Resolves when `decode()`
   * can run on all of them; a 404 or an unusable schema is remembered and thrown by `decode()`
   * for the messages concerned (bad input, DLQ). Rejects with a retriable METER_ERR_SCHEMA_REGISTRY
   * when the registry is unreachable or answers 5xx: retry the batch. No-op without a registry.
   */
  async prepare(values: Iterable<Buffer | null | undefined>): Promise<void> {
    if (!this.registry) return;
    let wanted: Set<number> | undefined;
    const now = Date.now();
    for (const buf of values) {
      if (!buf || buf.length < CONFLUENT_HEADER || buf[0] !== CONFLUENT_MAGIC) continue;
      const id = buf.readUInt32BE(1);
      const entry = this.byId.get(id);
      if (entry && (entry.ok || entry.until > now)) continue;
      (wanted ??= new Set()).add(id);
    }
    if (wanted) await Promise.all([...wanted].map((id) => this.fetchSchema(id)));
  }

  /** `prepare([buf])` then `decode(buf)`: for one-off messages; batches should use `prepare`. */
  async decodeAsync(buf: Buffer): Promise<Decoded> {
    if (buf.length >= CONFLUENT_HEADER && buf[0] === CONFLUENT_MAGIC && this.registry) await this.prepare([buf]);
    return this.decode(buf);
  }

  /** Encodes with Avro single-object encoding; writer = the reader version unless `version` is given. */
  encodeSingleObject<K extends RecordName>(record: K, value: RecordValues[K], version?: number): Buffer {
    const v = version === undefined ? this.schemas.reader(record) : this.schemas.version(record, version);
    const body = encodeBody(v.type, value, record);
    return Buffer.concat([SINGLE_OBJECT_MAGIC, v.fingerprintBytes, body], SINGLE_OBJECT_HEADER + body.length);
  }

  /** Encodes with Confluent framing under a registry schema ID (the reader version's schema). */
  encodeConfluent<K extends RecordName>(schemaId: number, record: K, value: RecordValues[K]): Buffer {
    const body = encodeBody(this.schemas.reader(record).type, value, record);
    const header = Buffer.alloc(CONFLUENT_HEADER);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, body], CONFLUENT_HEADER + body.length);
  }

  private fetchSchema(id: number): Promise<void> {
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.doFetch(id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  private async doFetch(id: number): Promise<void> {
    let entry: RegistryEntry;
    try {
      const schema = await (this.registry as RegistryClient).schemaById(id);
      if (schema === undefined) {
        throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema ${id} not found in the registry (404)`);
      }
      let writer;
      try {
        writer = parseAvroSchema(JSON.parse(schema));
      } catch (cause) {
        throw new MeterError(
          'METER_ERR_AVRO_UNKNOWN_SCHEMA',
          `registry schema ${id} is not a usable Avro schema: ${(cause as Error).message}`,
          { cause },
        );
      }
      entry = { ok: true, binding: this.schemas.bindForeign(writer) };
    } catch (err) {
      const error = err instanceof MeterError ? err : new MeterError('METER_ERR_INTERNAL', String(err), { cause: err });
      // Retriable failures leave no cache entry: the batch is retried and asks again.
      if (error.retriable) throw error;
      entry = { ok: false, error, until: Date.now() + this.negativeTtlMs };
    }
    this.byId.set(id, entry);
  }
}

/** A codec over the repository's schemas, with a registry when `schemaRegistryUrl` is given. */
export function createAvroCodec(options: AvroCodecOptions = {}): AvroCodec {
  return new AvroCodec(options);
}

/** Single-object fingerprint bytes of any schema (JSON text or parsed), e.g. for a peer's producer. */
export function singleObjectHeader(schema: unknown): Buffer {
  return Buffer.concat([SINGLE_OBJECT_MAGIC, fingerprintBytes(schemaFingerprint(schema))]);
}

function decodeBody(binding: WriterBinding, buf: Buffer, pos: number): Decoded {
  let result: { value: unknown; offset: number };
  try {
    result = binding.reader.decode(buf, pos, binding.resolver);
  } catch (cause) {
    if (cause instanceof BlockCountError) {
      throw new MeterError('METER_ERR_AVRO_TRUNCATED', `${binding.record}: ${cause.message}`, { cause });
    }
    throw new MeterError('METER_ERR_AVRO_DECODE', `${binding.record}: ${(cause as Error).message}`, { cause });
  }
  if (result.offset === -1) {
    throw new MeterError('METER_ERR_AVRO_TRUNCATED', `${binding.record}: body ends early (${buf.length - pos} bytes)`);
  }
  if (result.offset !== buf.length) {
    throw new MeterError(
      'METER_ERR_AVRO_DECODE',
      `${binding.record}: ${buf.length - result.offset} trailing bytes after the body`,
    );
  }
  return { schema: binding.record, value: result.value } as Decoded;
}

function encodeBody(type: { toBuffer(value: unknown): Buffer }, value: unknown, record: RecordName): Buffer {
  try {
    return type.toBuffer(value);
  } catch (cause) {
    throw new MeterError('METER_ERR_VALIDATION', `${record}: ${(cause as Error).message}`, { cause });
  }
}

function magicMessage(buf: Buffer, registry: boolean): string {
  if (buf.length === 0) return 'empty message';
  if (buf[0] === CONFLUENT_MAGIC && !registry) {
    return 'Confluent-framed message but SCHEMA_REGISTRY_URL is not set';
  }
  return `unknown framing (first bytes ${buf.toString('hex', 0, Math.min(buf.length, 2))})`;
}

/** The slice of Confluent's schema registry API the codec uses. */
class RegistryClient {
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
