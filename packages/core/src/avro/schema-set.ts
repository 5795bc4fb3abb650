/**
 * The Avro schemas in `schemas/avro/<Record>/v<N>.avsc`, parsed once: every version indexed by
 * its CRC-64-AVRO fingerprint, the highest version of each record as its reader schema, and a
 * resolver from every older version to that reader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avsc from 'avsc';
import { MeterError } from '../errors.js';
import { fingerprintBytes, parsingCanonicalForm, schemaFingerprint } from './fingerprint.js';

import { AVRO_NAMESPACE, RECORD_NAMES, type RecordName, type RecordValues } from './records.js';
export { AVRO_NAMESPACE, RECORD_NAMES } from './records.js';
export type {
  RecordName,
  MeterKind,
  Unit,
  ReadingType,
  Quality,
  HourSource,
  AlertType,
  AlertStatus,
  AlertSeverity,
  MeterReading,
  BatchReading,
  MeterReadingBatch,
  CleanReading,
  CleanReadingBatch,
  Invoice,
  Alert,
  HourlyValue,
  HourlyBatch,
  SpotPrice,
  RecordValues,
} from './records.js';
/** One schema file, parsed. */
export interface SchemaVersion {
  /** Short record name, e.g. `MeterReading`. */
  readonly record: RecordName;
  /** Full name, e.g. `meterstream.v1.MeterReading`. */
  readonly fullName: string;
  /** N of `vN.avsc`. */
  readonly version: number;
  readonly path: string;
  readonly type: avsc.Type;
  /** Parsing Canonical Form. */
  readonly canonical: string;
  /** CRC-64-AVRO of the canonical form, unsigned. */
  readonly fingerprint: bigint;
  /** The fingerprint as single-object encoding writes it (8 bytes, little-endian). */
  readonly fingerprintBytes: Buffer;
}

/** A writer schema bound to the reader it decodes into. */
export interface WriterBinding {
  readonly record: RecordName;
  readonly reader: avsc.Type;
  /** Undefined when writer and reader are the same schema (the fast path). */
  readonly resolver: avsc.Resolver | undefined;
}

/** `schemas/avro/` of this checkout, found from this file's place in `packages/core/{src,dist}/avro/`. */
export function defaultSchemaDir(): string {
  return fileURLToPath(new URL('../../../../schemas/avro/', import.meta.url));
}

/**
 * Parses a schema as every meterstream codec does: no logical types registered, so
 * `timestamp-millis` stays a number of milliseconds (no `Date` per value), and `long`
 * decodes to a JS number (avsc throws beyond 2^53, which surfaces as a decode error).
 */
export function parseAvroSchema(schema: unknown): avsc.Type {
  return avsc.Type.forSchema(schema as avsc.Schema, { wrapUnions: 'auto', typeHook: guardedCollections });
}

export class SchemaSet {
  readonly versions: readonly SchemaVersion[];
  private readonly readers = new Map<RecordName, SchemaVersion>();
  private readonly readersByFullName = new Map<string, SchemaVersion>();
  private readonly bindings = new Map<SchemaVersion, WriterBinding>();
  // Fingerprints as two uint32 halves in flat arrays: a handful of schemas, so a linear scan
  // without allocation beats a Map keyed by a BigInt or a hex string per message.
  private readonly fpLo: Uint32Array;
  private readonly fpHi: Uint32Array;

  constructor(versions: SchemaVersion[]) {
    this.versions = Object.freeze([...versions]);
    for (const v of versions) {
      const current = this.readers.get(v.record);
      if (!current || current.version < v.version) this.readers.set(v.record, v);
    }
    for (const reader of this.readers.values()) this.readersByFullName.set(reader.fullName, reader);
    this.fpLo = new Uint32Array(versions.length);
    this.fpHi = new Uint32Array(versions.length);
    versions.forEach((v, i) => {
      const clash = versions.findIndex((o) => o.fingerprint === v.fingerprint);
      if (clash !== i) {
        throw new MeterError('METER_ERR_CONFIG', `${v.path} and ${versions[clash].path} have the same canonical form`);
      }
      this.fpLo[i] = v.fingerprintBytes.readUInt32LE(0);
      this.fpHi[i] = v.fingerprintBytes.readUInt32LE(4);
      // Resolvers are built up front: an older version the reader cannot read is a bug in
      // `schemas/`, better found at start-up than on the first old message.
      this.bindings.set(v, this.bind(v.type, v.record));
    });
  }

  /** The reader (highest) version of a record. */
  reader(record: RecordName): SchemaVersion {
    const v = this.readers.get(record);
    if (!v) throw new MeterError('METER_ERR_AVRO_UNKNOWN_SCHEMA', `no schema for record ${record}`);
    return v;
  }

  /** A specific version of a record, e.g. to produce old-format messages in tests. */
  version(record: RecordName, version: number): SchemaVersion {
    const v = this.versions.find((o) => o.record === record && o.version === version);
    if (!v) throw new MeterError('METER_ERR_AVRO_UNKNOWN_SCHEMA', `no schema ${record} v${version}`);
    return v;
  }

  /**
   * The writer whose fingerprint sits at `buf[pos..pos+8)` (little-endian), bound to its
   * reader; undefined when no schema file has that fingerprint.
   */
  bindingAt(buf: Buffer, pos: number): WriterBinding | undefined {
    const lo = buf.readUInt32LE(pos);
    const hi = buf.readUInt32LE(pos + 4);
    const { fpLo, fpHi } = this;
    for (let i = 0; i < fpLo.length; i++) {
      if (fpLo[i] === lo && fpHi[i] === hi) return this.bindings.get(this.versions[i]);
    }
    return undefined;
  }

  /** The binding of a known version (writer = that version, reader = the record's highest). */
  binding(version: SchemaVersion): WriterBinding {
    const b = this.bindings.get(version);
    if (!b) throw new MeterError('METER_ERR_INTERNAL', `${version.path} is not part of this schema set`);
    return b;
  }

  /**
   * Binds a foreign writer schema (from a schema registry) to our reader of the same full
   * name. Throws METER_ERR_AVRO_UNKNOWN_SCHEMA when there is no such reader or the reader
   * cannot read it.
   */
  bindForeign(writer: avsc.Type): WriterBinding {
    const name = writer.name ?? '';
    const reader = this.readersByFullName.get(name);
    if (!reader) {
      throw new MeterError('METER_ERR_AVRO_UNKNOWN_SCHEMA', `no reader schema named ${name || '(anonymous)'}`);
    }
    return this.bind(writer, reader.record);
  }

  private bind(writer: avsc.Type, record: RecordName): WriterBinding {
    const reader = this.reader(record).type;
    if (writer === reader) return { record, reader, resolver: undefined };
    try {
      return { record, reader, resolver: reader.createResolver(writer) };
    } catch (cause) {
      throw new MeterError(
        'METER_ERR_AVRO_UNKNOWN_SCHEMA',
        `${record}: writer schema cannot be read by the reader: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
}

/**
 * Loads every `<Record>/v<N>.avsc` under `dir` (default: the repository's `schemas/avro/`).
 * A file whose record name does not match its directory, an unknown record or a duplicate
 * canonical form stops start-up with METER_ERR_CONFIG naming the file.
 */
export function loadSchemaSet(dir: string = defaultSchemaDir()): SchemaSet {
  const versions: SchemaVersion[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const record = entry.name as RecordName;
    if (!RECORD_NAMES.includes(record)) {
      throw new MeterError('METER_ERR_CONFIG', `${join(dir, entry.name)}: unknown record ${entry.name}`);
    }
    for (const file of readdirSync(join(dir, entry.name))) {
      const m = /^v(\d+)\.avsc$/.exec(file);
      if (!m) continue;
      const path = join(dir, entry.name, file);
      versions.push(loadVersion(path, record, Number(m[1])));
    }
  }
  if (versions.length === 0) throw new MeterError('METER_ERR_CONFIG', `${dir}: no Avro schemas found`);
  versions.sort((a, b) => a.record.localeCompare(b.record) || a.version - b.version);
  return new SchemaSet(versions);
}

function loadVersion(path: string, record: RecordName, version: number): SchemaVersion {
  let json: unknown;
  let type: avsc.Type;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
    type = parseAvroSchema(json);
  } catch (cause) {
    throw new MeterError('METER_ERR_CONFIG', `${path}: ${(cause as Error).message}`, { cause });
  }
  const fullName = `${AVRO_NAMESPACE}.${record}`;
  if (type.name !== fullName) {
    throw new MeterError('METER_ERR_CONFIG', `${path}: record is named ${type.name}, expected ${fullName}`);
  }
  const fingerprint = schemaFingerprint(json);
  return Object.freeze({
    record,
    fullName,
    version,
    path,
    type,
    canonical: parsingCanonicalForm(json),
    fingerprint,
    fingerprintBytes: fingerprintBytes(fingerprint),
  });
}

/** Thrown from inside avsc's read functions; the codec maps it to METER_ERR_AVRO_TRUNCATED. */
export class BlockCountError extends Error {}

interface AvscTap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}
interface AvscReader {
  _read(tap: AvscTap): unknown;
}
type AvscTypeConstructor = new (schema: unknown, opts: unknown) => avsc.Type;
const { ArrayType, MapType } = avsc.types as unknown as {
  ArrayType: AvscTypeConstructor;
  MapType: AvscTypeConstructor;
};

/*
 * avsc trusts an array or map block count and loops that many times even past the end of
 * the buffer (reads there return zeros), so one corrupt count of 10^9 pins a core and fills
 * the heap instead of failing. Every block item of our schemas takes at least one byte, so
 * a count larger than the bytes left is corrupt. avsc freezes its types, so the guard is a
 * subclass installed through `typeHook`; resolvers copy `_read` from the reader type, so
 * resolved reads are guarded too.
 */
class GuardedArrayType extends ArrayType {
  _read(this: { itemsType: AvscReader }, tap: AvscTap): unknown[] {
    const items = this.itemsType;
    let val: unknown[] | undefined;
    let i = 0;
    let n: number;
    while ((n = readBlockCount(tap))) {
      val ??= new Array(n);
      while (n--) val[i++] = items._read(tap);
    }
    return val ?? [];
  }
}

class GuardedMapType extends MapType {
  _read(this: { valuesType: AvscReader }, tap: AvscTap): Record<string, unknown> {
    const values = this.valuesType;
    const val: Record<string, unknown> = {};
    let n: number;
    while ((n = readBlockCount(tap))) {
      while (n--) {
        const key = tap.readString();
        val[key] = values._read(tap);
      }
    }
    return val;
  }
}

function guardedCollections(schema: avsc.Schema, opts: avsc.ForSchemaOptions): avsc.Type | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const type = (schema as { type?: unknown }).type;
  if (type === 'array') return new GuardedArrayType(schema, opts);
  if (type === 'map') return new GuardedMapType(schema, opts);
  return undefined;
}

function readBlockCount(tap: AvscTap): number {
  let n = tap.readLong();
  if (n < 0) {
    n = -n;
    tap.skipLong(); // block size in bytes
  }
  if (n > tap.buf.length - tap.pos) {
    throw new BlockCountError(`block of ${n} items but ${Math.max(0, tap.buf.length - tap.pos)} bytes left`);
  }
  return n;
}
