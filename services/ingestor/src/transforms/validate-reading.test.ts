import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeterReading, MeterReadingBatch } from '@meterstream/core';
import { correctionWindowMs, validateBatch, validateReading } from './validate-reading.js';

const now = Date.UTC(2026, 10, 1, 12);
const DAY = 86_400_000;
const limits = { maxBatchReadings: 100, maxFutureMs: 3_600_000, maxAgeMs: correctionWindowMs(90) };
const good: MeterReading = {
  meterId: '707057500000000017',
  tenant: 'oslo-vann',
  kind: 'WATER',
  unit: 'L',
  readingType: 'INTERVAL',
  ts: now - 3_600_000,
  intervalSeconds: 3600,
  value: 12.5,
  quality: 'MEASURED',
  zoneId: 'Z1',
  priceArea: null,
};

test('a plausible water interval reading is valid', () => {
  assert.equal(validateReading(good, now, limits), null);
});

test('corrections are taken up to the raw retention minus a day (half the retention when shorter than two days)', () => {
  assert.equal(correctionWindowMs(90), 89 * DAY);
  assert.equal(correctionWindowMs(1), DAY / 2);
  assert.equal(validateReading({ ...good, ts: now - 89 * DAY, quality: 'CORRECTED' }, now, limits), null);
  const batch: MeterReadingBatch = {
    ...good,
    readings: [
      { ts: now - DAY, value: 1, quality: 'MEASURED' },
      { ts: now - 120 * DAY, value: 1, quality: 'CORRECTED' },
    ],
  };
  const r = validateBatch(batch, now, limits);
  assert.equal(r?.reason, 'beyond_retention');
  assert.match(r.detail, /readings\[1\].*METERSTREAM_RAW_TTL_DAYS/);
});

const cases: [string, Partial<MeterReading>, string][] = [
  ['NaN value', { value: NaN }, 'non_finite_value'],
  ['infinite value', { value: Infinity }, 'non_finite_value'],
  ['negative consumption', { value: -1 }, 'negative_value'],
  ['water in kWh', { unit: 'KWH' }, 'unit_mismatch'],
  ['temperature as interval', { kind: 'TEMPERATURE', unit: 'CELSIUS' }, 'reading_type_mismatch'],
  ['instant water', { readingType: 'INSTANT', intervalSeconds: 0 }, 'reading_type_mismatch'],
  ['interval not dividing a day', { intervalSeconds: 7000 }, 'bad_interval'],
  ['zero interval', { intervalSeconds: 0 }, 'bad_interval'],
  ['register with an interval', { readingType: 'REGISTER', intervalSeconds: 900 }, 'bad_interval'],
  ['before 2000', { ts: Date.UTC(1999, 11, 31) }, 'ts_too_old'],
  ['two hours ahead', { ts: now + 2 * 3_600_000 }, 'ts_in_future'],
  [
    'a correction older than the raw retention minus a day',
    { ts: now - 89 * DAY - 1, quality: 'CORRECTED' },
    'beyond_retention',
  ],
  ['a year old', { ts: now - 365 * DAY }, 'beyond_retention'],
  ['empty meter id', { meterId: '' }, 'bad_meter_id'],
  ['tenant with spaces', { tenant: 'a b' }, 'bad_tenant'],
  ['bad price area', { priceArea: 'norway-1' }, 'bad_price_area'],
  ['meter ID with the unit separator U+001F', { meterId: '7070575\u001f00000000017' }, 'bad_meter_id'],
  ['meter ID with NUL', { meterId: '707057500000000017\u0000' }, 'bad_meter_id'],
  ['meter ID with DEL', { meterId: '\u007f707057500000000017' }, 'bad_meter_id'],
  ['meter ID with a C1 control (NEL)', { meterId: '70705750000\u00850000017' }, 'bad_meter_id'],
  ['meter ID with U+FFFD (invalid UTF-8 decodes to it)', { meterId: '70705750000\ufffd0000017' }, 'bad_meter_id'],
  ['zone with a tab', { zoneId: 'Z\t1' }, 'bad_zone'],
  ['zone with NUL', { zoneId: '\u0000' }, 'bad_zone'],
  ['zone with U+FFFD', { zoneId: 'Z\ufffd' }, 'bad_zone'],
  ['tenant with U+001F', { tenant: 'oslo\u001fvann' }, 'bad_tenant'],
  ['price area with NUL', { priceArea: 'NO1\u0000' }, 'bad_price_area'],
];
for (const [name, change, reason] of cases) {
  test(`refused: ${name} → ${reason}`, () => {
    const r = validateReading({ ...good, ...change }, now, limits);
    assert.equal(r?.reason, reason);
    assert.ok(!r.detail.includes(good.meterId), 'the detail never carries the meter ID');
  });
}

test('a control character is named in the detail by its code point, never with the ID', () => {
  assert.deepEqual(validateReading({ ...good, meterId: 'a\u001fb' }, now, limits), {
    reason: 'bad_meter_id',
    detail: 'meterId contains a control character (U+001F)',
  });
});

test('IDs beyond the BMP, and zones with quotes or backslashes, are valid', () => {
  assert.equal(
    validateReading({ ...good, meterId: '707057500000000017😀', zoneId: "o'hara \\N 🌊" }, now, limits),
    null,
  );
});

test('temperatures: below zero is fine, 150 °C is not', () => {
  const t = {
    ...good,
    kind: 'TEMPERATURE' as const,
    unit: 'CELSIUS' as const,
    readingType: 'INSTANT' as const,
    intervalSeconds: 0,
  };
  assert.equal(validateReading({ ...t, value: -12 }, now, limits), null);
  assert.equal(validateReading({ ...t, value: 150 }, now, limits)?.reason, 'value_out_of_range');
});

const batch: MeterReadingBatch = {
  meterId: 'm',
  tenant: 'default',
  kind: 'ELECTRICITY_IMPORT',
  unit: 'KWH',
  readingType: 'INTERVAL',
  intervalSeconds: 900,
  zoneId: null,
  priceArea: 'NO1',
  readings: Array.from({ length: 96 }, (_, i) => ({
    ts: now - 86_400_000 + i * 900_000,
    value: 0.1,
    quality: 'MEASURED' as const,
  })),
};

test('a daily quarter-hour batch is valid; empty, oversize and one bad value are refused whole', () => {
  assert.equal(validateBatch(batch, now, limits), null);
  assert.equal(validateBatch({ ...batch, readings: [] }, now, limits)?.reason, 'empty_batch');
  assert.equal(validateBatch(batch, now, { ...limits, maxBatchReadings: 95 })?.reason, 'oversize_batch');
  const readings = batch.readings.map((r, i) => (i === 40 ? { ...r, value: NaN } : r));
  const bad = validateBatch({ ...batch, readings }, now, limits);
  assert.equal(bad?.reason, 'non_finite_value');
  assert.match(bad.detail, /readings\[40\]/);
});
