/**
 * A register's stated capacity (MeterReading v3 / MeterReadingBatch v2 `registerModulus`):
 * validated (a positive integer above every value of the message, on REGISTER readings only,
 * else the DLQ as `bad_register_modulus`) and carried into the clean batch, one capacity per
 * clean batch (the group key holds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, Pseudonymiser, type MeterReading, type MeterReadingBatch } from '@meterstream/core';
import { TEST_KEY_HEX } from '@meterstream/core/testing';
import { groupKey, prepareBatch } from './prepare-batch.js';
import { validateBatch, validateReading } from './validate-reading.js';

const now = Date.UTC(2026, 10, 1, 12);
const limits = { maxBatchReadings: 100, maxFutureMs: 3_600_000, maxAgeMs: 60 * 86_400_000 };
const register: MeterReading = {
  meterId: 'WM-0042',
  tenant: 'oslo-vann',
  kind: 'WATER',
  unit: 'M3',
  readingType: 'REGISTER',
  ts: now - 3_600_000,
  intervalSeconds: 0,
  value: 950,
  quality: 'MEASURED',
  zoneId: 'Z1',
  priceArea: null,
  registerModulus: 1000,
};

test('a register below its stated capacity is valid, and so is one without a capacity (null or absent)', () => {
  assert.equal(validateReading(register, now, limits), null);
  assert.equal(validateReading({ ...register, registerModulus: null }, now, limits), null);
  const { registerModulus: _m, ...unstated } = register;
  assert.equal(validateReading(unstated, now, limits), null);
  assert.equal(validateReading({ ...register, value: 999.999 }, now, limits), null);
});

const refused: [string, Partial<MeterReading>, RegExp][] = [
  ['capacity 0', { registerModulus: 0, value: 0 }, /must be a positive integer/],
  ['negative capacity', { registerModulus: -1000 }, /must be a positive integer/],
  ['capacity beyond 2^53', { registerModulus: 2 ** 53 }, /must be a positive integer/],
  ['value equal to the capacity', { value: 1000 }, /value 1000 is not below registerModulus 1000/],
  ['value above the capacity', { value: 1500.5 }, /value 1500.5 is not below registerModulus 1000/],
  [
    'a capacity on an interval reading',
    { readingType: 'INTERVAL', intervalSeconds: 3600, value: 1 },
    /only for REGISTER readings, not INTERVAL/,
  ],
  [
    'a capacity on a temperature',
    { kind: 'TEMPERATURE', unit: 'CELSIUS', readingType: 'INSTANT', value: 4 },
    /only for REGISTER readings, not INSTANT/,
  ],
];
for (const [name, change, detail] of refused) {
  test(`refused: ${name} → bad_register_modulus`, () => {
    const r = validateReading({ ...register, ...change }, now, limits);
    assert.equal(r?.reason, 'bad_register_modulus');
    assert.match(r.detail, detail);
    assert.ok(!r.detail.includes(register.meterId), 'the detail never carries the meter ID');
  });
}

test('a batch is refused whole when one reading reaches its capacity; the detail names the reading', () => {
  const { ts: _t, value: _v, quality: _q, ...header } = register;
  const batch: MeterReadingBatch = {
    ...header,
    readings: [940, 990, 999.5, 3].map((value, i) => ({ ts: now - (5 - i) * 3_600_000, value, quality: 'MEASURED' })),
  };
  assert.equal(validateBatch(batch, now, limits), null, 'a wrap inside the batch (999.5 then 3) is valid');
  const bad = validateBatch(
    { ...batch, readings: batch.readings.map((r, i) => (i === 2 ? { ...r, value: 1000 } : r)) },
    now,
    limits,
  );
  assert.equal(bad?.reason, 'bad_register_modulus');
  assert.match(bad.detail, /^readings\[2\]: value 1000 is not below registerModulus 1000/);
  // A value problem of its own keeps its own reason.
  const negative = validateBatch(
    { ...batch, readings: batch.readings.map((r, i) => (i === 1 ? { ...r, value: -1 } : r)) },
    now,
    limits,
  );
  assert.equal(negative?.reason, 'negative_value');
});

const codec = new AvroCodec();
const ctx = {
  codec,
  pseudonymiser: new Pseudonymiser({ key: Buffer.from(TEST_KEY_HEX, 'hex') }),
  limits,
  now,
};
const messages = (values: (MeterReading | MeterReadingBatch)[], versions?: number[]) =>
  values.map((v, i) => ({
    offset: String(i),
    key: null,
    value:
      'readings' in v
        ? codec.encodeSingleObject('MeterReadingBatch', v, versions?.[i])
        : codec.encodeSingleObject('MeterReading', v, versions?.[i]),
  }));

test('the clean batch carries the stated capacity; messages of older versions give null', () => {
  const { registerModulus: _m, ...v2 } = register;
  const p = prepareBatch(
    messages(
      [register, { ...v2, ts: register.ts + 1 }, { ...v2, ts: register.ts + 2, zoneId: null, priceArea: null }],
      [3, 2, 1],
    ),
    ctx,
  );
  assert.deepEqual(p.dead, []);
  assert.deepEqual(
    p.clean.map((b) => [b.registerModulus, b.readings.map((r) => r.offset)]),
    [
      [1000, [0]],
      [null, [1]],
      [null, [2]],
    ],
  );
});

test('a meter whose messages state a capacity and state none: separate clean batches, each as stated, in offset order', () => {
  const { registerModulus: _m, ...unstated } = register;
  const { ts: _t, value: _v, quality: _q, ...header } = register;
  const p = prepareBatch(
    messages([
      { ...header, readings: [{ ts: register.ts - 7_200_000, value: 900, quality: 'MEASURED' }] },
      { ...unstated, ts: register.ts - 3_600_000, value: 940 },
      { ...register, value: 950 },
      { ...register, ts: register.ts + 3_600_000, value: 20 },
    ]),
    ctx,
  );
  assert.deepEqual(p.dead, []);
  assert.deepEqual(
    p.clean.map((b) => [b.registerModulus, b.readings.map((r) => r.offset)]),
    [
      [1000, [0]],
      [null, [1]],
      [1000, [2]],
      [1000, [3]],
    ],
  );
  const keyOf = (m: Partial<MeterReading>) => {
    const { ts: _a, value: _b, quality: _c, ...h } = { ...register, ...m };
    return groupKey(h);
  };
  assert.notEqual(keyOf({}), keyOf({ registerModulus: null }));
  assert.notEqual(keyOf({ registerModulus: 100 }), keyOf({ registerModulus: 1000 }));
  assert.equal(keyOf({ registerModulus: null }), keyOf({ registerModulus: undefined }), 'absent is null');
});

test("a message with a bad capacity goes to the DLQ; the meter's other messages stay clean", () => {
  const p = prepareBatch(messages([register, { ...register, ts: register.ts + 1, value: 1200 }]), ctx);
  assert.deepEqual(
    p.dead.map((d) => [d.message.offset, d.reason]),
    [['1', 'bad_register_modulus']],
  );
  assert.deepEqual(
    p.clean.map((b) => [b.registerModulus, b.readings.length]),
    [[1000, 1]],
  );
});
