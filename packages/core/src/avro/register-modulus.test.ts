/**
 * The register capacity of the input records (MeterReading v3, MeterReadingBatch v2): golden
 * bytes written by fastavro carry it as a number, and every older version resolves to null
 * (unknown capacity: the roll-up then counts a falling register as a reset, never a rollover).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAvroCodec, type Decoded } from './codec.js';
import type { MeterReading, MeterReadingBatch, RecordName } from './schema-set.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/avro/', import.meta.url));
interface GoldenCase {
  file: string;
  record: RecordName;
  writerVersion: number;
  expected: { registerModulus?: number | null };
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: GoldenCase[] };
const fixture = (file: string): Buffer => Buffer.from(readFileSync(join(FIXTURES, file), 'utf8').trim(), 'hex');
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const codec = createAvroCodec();
const inputs = golden.cases.filter((c) => c.record === 'MeterReading' || c.record === 'MeterReadingBatch');
const decodeInput = (file: string) =>
  codec.decode(fixture(file)) as Extract<Decoded, { schema: 'MeterReading' | 'MeterReadingBatch' }>;

test('the readers of the input records are MeterReading v3 and MeterReadingBatch v2', () => {
  assert.equal(codec.schemas.reader('MeterReading').version, 3);
  assert.equal(codec.schemas.reader('MeterReadingBatch').version, 2);
});

test('MeterReading v1/v2 and MeterReadingBatch v1 golden bytes resolve to an unknown register capacity (null)', () => {
  const old = inputs.filter((c) => c.writerVersion < (c.record === 'MeterReading' ? 3 : 2));
  assert.deepEqual([...new Set(old.map((c) => `${c.record}/v${c.writerVersion}`))].sort(), [
    'MeterReading/v1',
    'MeterReading/v2',
    'MeterReadingBatch/v1',
  ]);
  for (const c of old) {
    assert.equal(c.expected.registerModulus, null, `fastavro's resolution of ${c.file}`);
    assert.equal(decodeInput(c.file).value.registerModulus, null, c.file);
  }
});

test('MeterReading v3 and MeterReadingBatch v2 golden bytes carry a stated capacity as a number, or null', () => {
  const stated = inputs.filter((c) => c.expected.registerModulus !== null);
  assert.deepEqual(stated.map((c) => `${c.record}/v${c.writerVersion}`).sort(), [
    'MeterReading/v3',
    'MeterReading/v3',
    'MeterReadingBatch/v2',
  ]);
  for (const c of stated) {
    const { value } = decodeInput(c.file);
    assert.equal(typeof value.registerModulus, 'number');
    assert.equal(value.registerModulus, c.expected.registerModulus, c.file);
  }
  // A 12-digit Wh register: a capacity beyond 32 bits survives as an exact number.
  assert.ok(stated.some((c) => c.expected.registerModulus === 10 ** 12));
});

test('a capacity left out is written as null (unknown); a stated one comes back; v1 writers resolve to null', () => {
  const reading: MeterReading = {
    meterId: 'WM-0042',
    tenant: 'default',
    kind: 'WATER',
    unit: 'M3',
    readingType: 'REGISTER',
    ts: 1_717_200_000_000,
    intervalSeconds: 0,
    value: 950,
    quality: 'MEASURED',
    zoneId: null,
    priceArea: null,
  };
  assert.equal(
    (codec.decode(codec.encodeSingleObject('MeterReading', reading)).value as MeterReading).registerModulus,
    null,
  );
  const stated = { ...reading, registerModulus: 1000 };
  assert.deepEqual(plain(codec.decode(codec.encodeSingleObject('MeterReading', stated)).value), stated);
  const { ts: _t, value: _v, quality: _q, ...header } = stated;
  const batch: MeterReadingBatch = { ...header, readings: [{ ts: reading.ts, value: 950, quality: 'MEASURED' }] };
  assert.deepEqual(plain(codec.decode(codec.encodeSingleObject('MeterReadingBatch', batch)).value), batch);
  const { registerModulus: _m, ...v1 } = batch;
  const old = codec.decode(codec.encodeSingleObject('MeterReadingBatch', v1, 1)).value;
  assert.deepEqual(plain(old), { ...batch, registerModulus: null });
});
