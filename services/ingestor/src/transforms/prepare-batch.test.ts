import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, Pseudonymiser, pseudonymOf, type MeterReading } from '@meterstream/core';
import { TEST_KEY_HEX } from '@meterstream/core/testing';
import { groupKey, prepareBatch, type ReadingHeader } from './prepare-batch.js';
import { readingVersion } from './reading-version.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const codec = new AvroCodec();
const now = Date.now();
const limits = { maxBatchReadings: 100, maxFutureMs: 3_600_000, maxAgeMs: 60 * 86_400_000 };
const reading = (change: Partial<MeterReading>): MeterReading => ({
  meterId: '707057500000000017',
  tenant: 'oslo-vann',
  kind: 'WATER',
  unit: 'L',
  readingType: 'INTERVAL',
  ts: now - 86_400_000,
  intervalSeconds: 3600,
  value: 1,
  quality: 'MEASURED',
  zoneId: 'Z1',
  priceArea: null,
  ...change,
});
const ctx = { codec, pseudonymiser: new Pseudonymiser({ key }), limits, now };
const prepare = (readings: MeterReading[]) =>
  prepareBatch(
    readings.map((r, i) => ({ offset: String(i), key: null, value: codec.encodeSingleObject('MeterReading', r) })),
    ctx,
  );

// Under the old key (fields joined with U+001F) these two were one group: the readings of the
// meter "A␟WATER␟L␟INTERVAL␟3600␟Z1" were stored under the pseudonym of meter "A".
const sep = '\u001fWATER\u001fL\u001fINTERVAL\u001f3600\u001f';
const smuggled = reading({ meterId: `707057500000000017${sep}Z1`, zoneId: 'Z2', value: 666 });
const host = reading({ zoneId: `Z1${sep}Z2`, ts: now - 3_600_000, value: 2 });

test('group keys of different headers differ even when the IDs hold the old separator or NUL', () => {
  const header = (r: MeterReading): ReadingHeader => {
    const { ts: _t, value: _v, quality: _q, ...h } = r;
    return h;
  };
  assert.notEqual(groupKey(header(smuggled)), groupKey(header(host)));
  assert.notEqual(groupKey(header(reading({ zoneId: null }))), groupKey(header(reading({ zoneId: '\u0000' }))));
  assert.notEqual(groupKey(header(reading({ zoneId: null }))), groupKey(header(reading({ zoneId: '-' }))));
  assert.notEqual(groupKey(header(reading({ zoneId: '' }))), groupKey(header(reading({ zoneId: null }))));
  assert.equal(groupKey(header(reading({ ts: 1 }))), groupKey(header(reading({ ts: 2 }))), 'one group per meter');
});

test('a meter ID holding U+001F goes to the DLQ; the meter it imitates keeps exactly its own readings', () => {
  const good = reading({ ts: now - 7_200_000, value: 3 });
  const p = prepare([host, smuggled, good]);
  assert.deepEqual(
    p.dead.map((d) => [d.message.offset, d.reason, d.detail]),
    [
      ['0', 'bad_zone', 'zoneId contains a control character (U+001F)'],
      ['1', 'bad_meter_id', 'meterId contains a control character (U+001F)'],
    ],
  );
  assert.equal(p.clean.length, 1);
  assert.equal(p.clean[0].meter, pseudonymOf(key, 'oslo-vann', '707057500000000017'));
  assert.deepEqual(p.clean[0].readings, [
    { ts: good.ts, value: 3, quality: 'MEASURED', offset: 2, version: readingVersion('MEASURED', 0) },
  ]);
});

test('versions order deliveries by quality, then by the raw record Kafka timestamp, across partitions', () => {
  const at = (timestamp: number, quality: MeterReading['quality'], offset: number) =>
    prepareBatch(
      [
        {
          offset: String(offset),
          timestamp: String(timestamp),
          key: null,
          value: codec.encodeSingleObject('MeterReading', reading({ quality })),
        },
      ],
      ctx,
    ).clean[0].readings[0].version;
  assert.ok(at(2_000, 'MEASURED', 5) > at(1_000, 'MEASURED', 900), 'the later record wins, whatever its offset');
  assert.ok(at(1_000, 'CORRECTED', 5) > at(9_000, 'MEASURED', 5), 'quality first');
  assert.ok(at(9_000, 'MEASURED', 5) > at(1_000, 'ESTIMATED', 5));
  assert.equal(
    at(1_000, 'MEASURED', 5),
    at(1_000, 'MEASURED', 7),
    'a replay that keeps the timestamp: the same version',
  );
  assert.ok(at(9_000, 'ESTIMATED', 1) < 2 ** 48 && at(9_000, 'CORRECTED', 1) < 2 ** 53, 'exact as a JS number');
});

test('a meter whose header changes inside a batch: its clean batches are cut per message, in offset order', () => {
  const msg = (offset: number, zoneId: string, ts: number) => ({
    offset: String(offset),
    key: null,
    value: codec.encodeSingleObject('MeterReading', reading({ zoneId, ts, value: offset })),
  });
  const p = prepareBatch(
    [msg(1, 'A', now - 3_600_000), msg(2, 'B', now - 3_600_000), msg(3, 'A', now - 3_600_000), msg(4, 'A', now - 1)],
    ctx,
  );
  // readings_raw keeps, of equal versions, the row inserted last: offset 3 must come after offset 2.
  assert.deepEqual(
    p.clean.map((b) => [b.zoneId, b.readings.map((r) => r.offset)]),
    [
      ['A', [1]],
      ['B', [2]],
      ['A', [3]],
      ['A', [4]],
    ],
  );
});
