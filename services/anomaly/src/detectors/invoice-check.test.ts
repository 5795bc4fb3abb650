import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvoice, convert, type InvoiceCheckInput } from './invoice-check.js';

const D = 86_400_000;
const start = Date.UTC(2026, 9, 1);
const end = Date.UTC(2026, 10, 1); // October: 744 hours
const base: InvoiceCheckInput = {
  periodStart: start,
  periodEnd: end,
  billedQuantity: 412.5,
  unit: 'KWH',
  meteredSum: 410_000,
  meteredUnit: 'WH',
  coveredHours: 744,
  now: end + D,
};

test('a bill within max(1 unit, 2 %) of the meter matches; beyond it is a mismatch', () => {
  assert.equal(checkInvoice(base).outcome, 'MATCH'); // 2.5 kWh over on 410: tolerance 8.2
  const over = checkInvoice({ ...base, billedQuantity: 430 });
  assert.equal(over.outcome, 'MISMATCH');
  assert.ok(Math.abs(over.difference - 20) < 1e-9);
  // Small quantities: the 1-unit floor applies (2 % of 10 m3 is 0.2).
  assert.equal(
    checkInvoice({ ...base, unit: 'M3', meteredUnit: 'L', billedQuantity: 10.9, meteredSum: 10_000 }).outcome,
    'MATCH',
  );
  assert.equal(
    checkInvoice({ ...base, unit: 'M3', meteredUnit: 'L', billedQuantity: 11.1, meteredSum: 10_000 }).outcome,
    'MISMATCH',
  );
});

test('an invoice that arrives before its meter data is complete is PENDING, then judged when the data is in', () => {
  const early = checkInvoice({ ...base, billedQuantity: 430, coveredHours: 700 });
  assert.equal(early.outcome, 'PENDING', 'never a mismatch on incomplete data');
  assert.equal(checkInvoice({ ...base, billedQuantity: 430, coveredHours: 744 }).outcome, 'MISMATCH');
});

test('ten days after the period end, still incomplete data is INSUFFICIENT_DATA', () => {
  assert.equal(checkInvoice({ ...base, coveredHours: 500, now: end + 9 * D }).outcome, 'PENDING');
  assert.equal(checkInvoice({ ...base, coveredHours: 500, now: end + 10 * D }).outcome, 'INSUFFICIENT_DATA');
});

test('units convert within a dimension only', () => {
  assert.equal(convert(2.5, 'M3', 'L'), 2500);
  assert.equal(convert(1, 'MWH', 'KWH'), 1000);
  assert.throws(() => convert(1, 'KWH', 'L'), RangeError);
});
