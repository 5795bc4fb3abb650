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
 * `await codec.prepare(batch)` once per batch (lookups bounded as `schema-registry.ts` says), or
 * `decodeAsync()` for a single message. `decode()` of a Confluent message whose ID no `prepare()`
 * looked up throws a retriable METER_ERR_SCHEMA_REGISTRY.
 */
import type { Registry } from 'prom-client';
import { MeterError } from '../errors.js';
import { fingerprintBytes, schemaFingerprint } from './fingerprint.js';
import { SchemaRegistryClient } from './schema-registry.js';
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
  /** Registry requests in flight at most; default 4. */
  registryMaxConcurrentLookups?: number;
  /** Unknown schema IDs one `prepare()` looks up at most; messages with further IDs are refused (DLQ); default 32. */
  registryMaxLookupsPerBatch?: number;
  /** Registry schemas kept (LRU); default 1 000. */
  registryCacheSize?: number;
  /** Negative registry answers kept (LRU); default 10 000. */
  registryNegativeCacheSize?: number;
  /** Clock of the negative TTL; default `Date.now`. */
  registryNow?: () => number;
  /** Metrics registry for `meterstream_schema_registry_lookups_total{outcome}`; none by default. */
  metricsRegistry?: Registry;
}

/** First byte of Confluent framing. */
export const CONFLUENT_MAGIC = 0x00;
/** First two bytes of Avro single-object encoding. */
export const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);

const SINGLE_OBJECT_HEADER = 10;
const CONFLUENT_HEADER = 5;

export class AvroCodec {
  readonly schemas: SchemaSet;
  private readonly registry: SchemaRegistryClient<WriterBinding> | undefined;

  constructor(options: AvroCodecOptions = {}) {
    const schemas = (this.schemas = options.schemas ?? loadSchemaSet(options.schemaDir));
    this.registry = options.schemaRegistryUrl
      ? new SchemaRegistryClient({
          url: options.schemaRegistryUrl,
          bind: (schema, id) => schemas.bindForeign(parseRegistrySchema(schema, id)),
          timeoutMs: options.registryTimeoutMs,
          negativeTtlMs: options.registryNegativeTtlMs,
          maxConcurrentLookups: options.registryMaxConcurrentLookups,
          maxLookupsPerBatch: options.registryMaxLookupsPerBatch,
          cacheSize: options.registryCacheSize,
          negativeCacheSize: options.registryNegativeCacheSize,
          now: options.registryNow,
          metrics: options.metricsRegistry,
        })
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
      const cached = this.registry.cached(id, buf);
      if (cached?.ok) return decodeBody(cached.value, buf, CONFLUENT_HEADER);
      if (cached) throw cached.error;
      throw new MeterError('METER_ERR_SCHEMA_REGISTRY', `schema ${id} not fetched yet; await prepare() first`, {
        retriable: true,
      });
    }
    throw new MeterError('METER_ERR_AVRO_MAGIC', magicMessage(buf, this.registry !== undefined));
  }

  /**
   * Looks up the registry schemas that Confluent-framed messages among `values` need and the
   * cache lacks, within the limits of `schema-registry.ts`. Resolves when `decode()` can run on
   * all of them (pass it the same Buffers): a 404, an unusable schema or an ID over the per-batch
   * limit is thrown by `decode()` for the messages concerned (bad input, DLQ). Rejects with a
   * retriable METER_ERR_SCHEMA_REGISTRY when the registry is unreachable or answers 5xx: retry
   * the batch. No-op without a registry.
   */
  async prepare(values: Iterable<Buffer | null | undefined>): Promise<void> {
    if (this.registry) await this.registry.prepare(confluentIds(values));
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

function* confluentIds(values: Iterable<Buffer | null | undefined>): Generator<readonly [Buffer, number]> {
  for (const buf of values) {
    if (buf && buf.length >= CONFLUENT_HEADER && buf[0] === CONFLUENT_MAGIC) yield [buf, buf.readUInt32BE(1)];
  }
}

function parseRegistrySchema(schema: string, id: number): ReturnType<typeof parseAvroSchema> {
  try {
    return parseAvroSchema(JSON.parse(schema));
  } catch (cause) {
    throw new MeterError(
      'METER_ERR_AVRO_UNKNOWN_SCHEMA',
      `registry schema ${id} is not a usable Avro schema: ${(cause as Error).message}`,
      { cause },
    );
  }
}
