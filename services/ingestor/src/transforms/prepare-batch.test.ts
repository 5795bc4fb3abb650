import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, Pseudonymiser, pseudonymOf, type MeterReading } from '@meterstream/core';
import { TEST_KEY_HEX } from '@meterstream/core/testing';
import { groupKey, prepareBatch, type ReadingHeader } from './prepare-batch.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const codec = new AvroCodec();
const now = Date.now();
const limits = { maxBatchReadings: 100, maxFutureMs: 3_600_000 };
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
const prepare = (readings: MeterReading[]) =>
  prepareBatch(
    readings.map((r, i) => ({ offset: String(i), key: null, value: codec.encodeSingleObject('MeterReading', r) })),
    { codec, pseudonymiser: new Pseudonymiser({ key }), limits, now },
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
  assert.deepEqual(p.clean[0].readings, [{ ts: good.ts, value: 3, quality: 'MEASURED', offset: 2 }]);
});
