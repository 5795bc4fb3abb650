/**
 * Test support: Avro binary encoding of the readings records field by field, so a fuzzer can
 * replace one field's bytes with bytes no encoder would write (an enum index out of range, a
 * negative string length, a long beyond 2^53, invalid UTF-8). Unmutated, the fields concatenate
 * to exactly what `AvroCodec.encodeSingleObject` writes; the fuzzer checks that on start.
 * See https://avro.apache.org/docs/1.11.1/specification/#binary-encoding.
 */
import type { BatchReading, MeterReading, MeterReadingBatch } from '@meterstream/core';

/** Symbols in schema order (schemas/avro/MeterReading/v3.avsc). */
export const SYMBOLS = {
  kind: ['ELECTRICITY_IMPORT', 'ELECTRICITY_EXPORT', 'WATER', 'HEAT', 'GAS', 'TEMPERATURE'],
  unit: ['WH', 'KWH', 'MWH', 'L', 'M3', 'CELSIUS'],
  readingType: ['INTERVAL', 'REGISTER', 'INSTANT'],
  quality: ['MEASURED', 'ESTIMATED', 'CORRECTED'],
} as const;

/** One encoded field of a record, by name; `readings` of a batch is one field. */
export interface Field {
  name: string;
  bytes: Buffer;
}

/** A zig-zag varint `long` (or `int`); bigint for values beyond 2^53. */
export function long(n: number | bigint): Buffer {
  const v = BigInt(n);
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const out: number[] = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z > 0n) b |= 0x80;
    out.push(b);
  } while (z > 0n);
  return Buffer.from(out);
}

/** A `string` (or `bytes`): its length, then the bytes (UTF-8 for a JS string). */
export function string(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([long(bytes.length), bytes]);
}

/** A `double`, little-endian IEEE 754. */
export function double(x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b;
}

/** A `["null", "string"]` union. */
export function nullableString(s: string | null): Buffer {
  return s === null ? long(0) : Buffer.concat([long(1), string(s)]);
}

function symbol<K extends keyof typeof SYMBOLS>(field: K, value: string): Buffer {
  return long((SYMBOLS[field] as readonly string[]).indexOf(value));
}

/** A `["null", "long"]` union. */
export function nullableLong(n: number | null | undefined): Buffer {
  return n === null || n === undefined ? long(0) : Buffer.concat([long(1), long(n)]);
}

/** The fields of a `MeterReading`: v3 (the reader), v2 (without registerModulus) or v1 (without zoneId and priceArea either). */
export function readingFields(r: MeterReading, version: 1 | 2 | 3 = 3): Field[] {
  const fields: Field[] = [
    { name: 'meterId', bytes: string(r.meterId) },
    { name: 'tenant', bytes: string(r.tenant) },
    { name: 'kind', bytes: symbol('kind', r.kind) },
    { name: 'unit', bytes: symbol('unit', r.unit) },
    { name: 'readingType', bytes: symbol('readingType', r.readingType) },
    { name: 'ts', bytes: long(r.ts) },
    { name: 'intervalSeconds', bytes: long(r.intervalSeconds) },
    { name: 'value', bytes: double(r.value) },
    { name: 'quality', bytes: symbol('quality', r.quality) },
  ];
  if (version >= 2) {
    fields.push({ name: 'zoneId', bytes: nullableString(r.zoneId) });
    fields.push({ name: 'priceArea', bytes: nullableString(r.priceArea) });
  }
  if (version === 3) fields.push({ name: 'registerModulus', bytes: nullableLong(r.registerModulus) });
  return fields;
}

/** One item of a batch's `readings` array. */
export function batchReading(r: BatchReading): Buffer {
  return Buffer.concat([long(r.ts), double(r.value), symbol('quality', r.quality)]);
}

/**
 * An array in blocks of `blockSize` items (default: one block). `negativeCounts` writes each
 * block the other legal way: a negative count followed by the block's size in bytes.
 */
export function array(items: readonly Buffer[], blockSize = items.length, negativeCounts = false): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < items.length; i += Math.max(1, blockSize)) {
    const block = items.slice(i, i + Math.max(1, blockSize));
    const body = Buffer.concat(block);
    parts.push(negativeCounts ? Buffer.concat([long(-block.length), long(body.length)]) : long(block.length), body);
  }
  parts.push(long(0));
  return Buffer.concat(parts);
}

/** The fields of a `MeterReadingBatch`: v2 (the reader) or v1 (without registerModulus). */
export function batchFields(b: MeterReadingBatch, version: 1 | 2 = 2): Field[] {
  const fields = [
    { name: 'meterId', bytes: string(b.meterId) },
    { name: 'tenant', bytes: string(b.tenant) },
    { name: 'kind', bytes: symbol('kind', b.kind) },
    { name: 'unit', bytes: symbol('unit', b.unit) },
    { name: 'readingType', bytes: symbol('readingType', b.readingType) },
    { name: 'intervalSeconds', bytes: long(b.intervalSeconds) },
    { name: 'zoneId', bytes: nullableString(b.zoneId) },
    { name: 'priceArea', bytes: nullableString(b.priceArea) },
  ];
  if (version === 2) fields.push({ name: 'registerModulus', bytes: nullableLong(b.registerModulus) });
  fields.push({ name: 'readings', bytes: array(b.readings.map(batchReading)) });
  return fields;
}

/** A record's fields after `header` (the single-object magic and fingerprint, or a Confluent header). */
export function frame(header: Buffer, fields: readonly Field[]): Buffer {
  return Buffer.concat([header, ...fields.map((f) => f.bytes)]);
}

/** `fields` with the one named `name` replaced by `bytes`. */
export function replace(fields: readonly Field[], name: string, bytes: Buffer): Field[] {
  if (!fields.some((f) => f.name === name)) throw new Error(`no field ${name}`);
  return fields.map((f) => (f.name === name ? { name, bytes } : f));
}
