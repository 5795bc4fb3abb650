import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMOUNT_DEFAULTS, checkInvoiceAmount, type AmountCheckInput } from './invoice-amount.js';

const H = 3_600_000;
const start = Date.UTC(2026, 9, 5, 22); // a local (Oslo) day: 24 UTC hours
const end = start + 24 * H;
const hours = Array.from({ length: 24 }, (_, i) => ({ hour: start + i * H, kwh: i === 18 ? 4 : 1 }));
const prices = new Map(hours.map((h, i) => [h.hour, i === 18 ? 2.5 : 0.5]));
// 23 kWh at 0.5 + 4 kWh at 2.5 = 21.5; with markup 0.1 on 27 kWh (2.7) and a fee of 49: 73.2.
const tariff = { ...AMOUNT_DEFAULTS, markupPerKwh: 0.1, fixedFee: 49 };
const base: AmountCheckInput = { periodStart: start, periodEnd: end, amount: 73.2, hours, prices, now: end + H };

test('the expected amount is Σ kWh × (spot + markup) + the fixed fee; within max(1, 2 %) it matches', () => {
  const r = checkInvoiceAmount(base, tariff);
  assert.equal(r.outcome, 'MATCH');
  assert.ok(Math.abs(r.expected! - 73.2) < 1e-9, String(r.expected));
  assert.equal(r.priceCoverage, 1);
  assert.equal(checkInvoiceAmount({ ...base, amount: 74.6 }, tariff).outcome, 'MATCH'); // 2 % of 73.2 = 1.46
  const high = checkInvoiceAmount({ ...base, amount: 80 }, tariff);
  assert.equal(high.outcome, 'MISMATCH');
  assert.ok(Math.abs(high.difference - 6.8) < 1e-9);
  // Without the tenant's tariff the same invoice is 51.7 too high.
  assert.equal(checkInvoiceAmount(base).outcome, 'MISMATCH');
});

test('the evidence names the hours where the invoice price per kWh departs most from the hour price', () => {
  // 90 billed: (90 - 49) / 27 kWh = 1.5185 per kWh. The evening hour (4 kWh at 2.5 + 0.1) is
  // billed 4 x (1.5185 - 2.6) = -4.33 below its price; each cheap hour 0.92 above.
  const r = checkInvoiceAmount({ ...base, amount: 90 }, tariff);
  assert.equal(r.outcome, 'MISMATCH');
  assert.ok(Math.abs(r.invoicePricePerKwh! - 41 / 27) < 1e-9);
  assert.deepEqual(
    r.top.map((h) => h.hour),
    [start + 18 * H, start, start + H],
  );
  assert.ok(Math.abs(r.top[0].delta - 4 * (41 / 27 - 2.6)) < 1e-9);
  assert.ok(Math.abs(r.top[1].delta - (41 / 27 - 0.6)) < 1e-9);
});

test('a missing price keeps the check PENDING, and INSUFFICIENT_DATA once the wait ran out', () => {
  const gap = new Map(prices);
  gap.delete(start + 5 * H);
  const pending = checkInvoiceAmount({ ...base, prices: gap, amount: 1000 }, tariff);
  assert.equal(pending.outcome, 'PENDING', 'a wrong amount is not judged on partial prices');
  assert.equal(pending.expected, null);
  assert.ok(Math.abs(pending.priceCoverage - 23 / 24) < 1e-9);
  const late = checkInvoiceAmount({ ...base, prices: gap, now: end + tariff.waitMs }, tariff);
  assert.equal(late.outcome, 'INSUFFICIENT_DATA');
  // Prices of other hours do not count.
  const shifted = new Map([...prices].map(([h, p]) => [h + 24 * H, p]));
  assert.equal(checkInvoiceAmount({ ...base, prices: shifted }, tariff).priceCoverage, 0);
});

test('negative spot prices lower the expected amount', () => {
  const negative = new Map([...prices].map(([h, p]) => [h, p - 1]));
  const r = checkInvoiceAmount({ ...base, amount: 73.2 - 27, prices: negative }, tariff);
  assert.equal(r.outcome, 'MATCH');
  assert.ok(Math.abs(r.expected! - 46.2) < 1e-9);
});
