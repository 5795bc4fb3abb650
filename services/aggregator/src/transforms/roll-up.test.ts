import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCanonical, type Unit } from '@meterstream/core';
import { HOUR_MS, READING_TYPE_CODES, rollUp, type Series } from './roll-up.js';

const H = HOUR_MS;
const Q = 15 * 60_000;
const t0 = Date.UTC(2026, 10, 20, 10); // 10:00 UTC

const offsets = (n: number) => Array.from({ length: n }, (_, i) => 100 + i);

type Reading = {
  type: keyof typeof READING_TYPE_CODES;
  ts: number;
  value: number;
  seconds?: number;
  modulus?: number;
  offset?: number;
};

/** A series from readings of any type, sorted by time as the worker hands them over. */
function series(readings: Reading[]): Series {
  const rs = [...readings].sort((a, b) => a.ts - b.ts);
  return {
    type: rs.map((r) => READING_TYPE_CODES[r.type]),
    ts: rs.map((r) => r.ts),
    value: rs.map((r) => r.value),
    intervalSeconds: rs.map((r) => r.seconds ?? 0),
    modulus: rs.map((r) => r.modulus ?? NaN),
    offset: rs.map((r, i) => r.offset ?? 100 + i),
  };
}

const interval = (seconds: number, ts: number[], value: number[]): Series => ({
  type: ts.map(() => READING_TYPE_CODES.INTERVAL),
  intervalSeconds: ts.map(() => seconds),
  modulus: ts.map(() => NaN),
  ts,
  value,
  offset: offsets(ts.length),
});

const register = (ts: number[], value: number[], offset = offsets(ts.length), modulus = NaN): Series => ({
  type: ts.map(() => READING_TYPE_CODES.REGISTER),
  intervalSeconds: ts.map(() => 0),
  modulus: ts.map(() => modulus),
  ts,
  value,
  offset,
});

test('four quarter-hours make a complete hour; three make 75% coverage', () => {
  const full = rollUp(interval(900, [t0, t0 + Q, t0 + 2 * Q, t0 + 3 * Q], [1, 2, 3, 4])).rows;
  assert.deepEqual(full, [
    {
      hour: t0,
      sum: 10,
      min: 1,
      max: 4,
      samples: 4,
      firstTs: t0,
      lastTs: t0 + 3 * Q,
      coverage: 1,
      version: 103,
      source: 'INTERVALS',
      mismatch: false,
    },
  ]);
  const partial = rollUp(interval(900, [t0, t0 + Q, t0 + 3 * Q], [1, 2, 4])).rows;
  assert.equal(partial[0].coverage, 0.75);
  assert.equal(partial[0].sum, 7);
});

test('an interval across an hour boundary is split pro rata', () => {
  // 30 minutes from 10:45: 15 minutes in each hour.
  const rows = rollUp(interval(1800, [t0 + 45 * 60_000], [6])).rows;
  assert.deepEqual(
    rows.map((r) => [r.hour, r.sum, r.coverage]),
    [
      [t0, 3, 0.25],
      [t0 + H, 3, 0.25],
    ],
  );
  // A daily value spreads 1/24 over every hour.
  const day = rollUp(interval(86_400, [Date.UTC(2026, 10, 20)], [48])).rows;
  assert.equal(day.length, 24);
  assert.ok(day.every((r) => r.sum === 2 && r.coverage === 1));
});

function localDayQuarterHours(startUtc: number, endUtc: number): Series {
  const ts: number[] = [];
  const value: number[] = [];
  for (let t = startUtc; t < endUtc; t += Q) {
    ts.push(t);
    value.push(0.25);
  }
  return interval(900, ts, value);
}

test('DST: the 23-hour and the 25-hour local days of Europe/Oslo give 23 and 25 UTC hours, nothing lost or doubled', () => {
  // 2026-03-29 local day: 00:00+01:00 (23:00Z the day before) to 00:00+02:00 (22:00Z): 23 hours.
  const spring = rollUp(localDayQuarterHours(Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 29, 22))).rows;
  assert.equal(spring.length, 23);
  assert.equal(
    spring.reduce((s, r) => s + r.sum, 0),
    23,
  );
  // 2026-10-25 local day: 00:00+02:00 (22:00Z the day before) to 00:00+01:00 (23:00Z): 25 hours.
  const autumn = rollUp(localDayQuarterHours(Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 25, 23))).rows;
  assert.equal(autumn.length, 25);
  assert.equal(
    autumn.reduce((s, r) => s + r.sum, 0),
    25,
  );
  assert.equal(new Set(autumn.map((r) => r.hour)).size, 25, 'every UTC hour once');
  assert.ok(autumn.every((r) => r.samples === 4 && r.coverage === 1));
});

test('registers become consumption spread over the time between them', () => {
  const rows = rollUp(register([t0, t0 + 2 * H, t0 + 3 * H], [100, 110, 111.5], [5, 9, 7]));
  assert.deepEqual(
    rows.rows.map((r) => r.version),
    [9, 9, 9],
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.hour, r.sum, r.coverage]),
    [
      [t0, 5, 1],
      [t0 + H, 5, 1],
      [t0 + 2 * H, 1.5, 1],
    ],
  );
  assert.equal(rows.resets, 0);
  assert.ok(rows.rows.every((r) => r.source === 'REGISTERS' && !r.mismatch));
});

test('a falling register with a known capacity is a rollover: modulus - previous + next', () => {
  const wrap = rollUp(register([t0, t0 + H], [99_990, 5], [1, 2], 100_000));
  assert.deepEqual(
    wrap.rows.map((r) => [r.sum, r.samples, r.coverage]),
    [[15, 1, 1]],
  );
  assert.deepEqual([wrap.rollovers, wrap.resets], [1, 0]);
});

test('without a known capacity a fall is a reset: counted, nothing invented, the span uncovered', () => {
  // 950 -> 20 looks like a wrap of 1000, but nothing says the register has three digits: a
  // meter swap at 950 must not become 70 units of consumption.
  for (const values of [
    [950, 20, 21],
    [99_990, 5, 6],
    [500, 3, 4],
  ]) {
    const reset = rollUp(register([t0, t0 + H, t0 + 2 * H], values));
    assert.deepEqual([reset.resets, reset.rollovers], [1, 0]);
    assert.deepEqual(
      reset.rows.map((r) => [r.hour, r.sum, r.samples, r.coverage]),
      [
        [t0, 0, 0, 0],
        [t0 + H, 1, 1, 1],
      ],
    );
  }
  // A capacity that the values do not fit (a new meter read above the old capacity) is no wrap.
  assert.equal(rollUp(register([t0, t0 + H], [950, 2_000], [1, 2], 1000)).rows[0].sum, 1050);
  const swap = rollUp(register([t0, t0 + H], [5_000, 20], [1, 2], 1000));
  assert.deepEqual([swap.resets, swap.rows[0].sum], [1, 0]);
});

test('intervals in a reset span still count as consumption', () => {
  const r = rollUp(
    series([
      { type: 'REGISTER', ts: t0, value: 950 },
      { type: 'INTERVAL', ts: t0 + Q, value: 3, seconds: 900 },
      { type: 'REGISTER', ts: t0 + H, value: 20 },
    ]),
  );
  assert.equal(r.resets, 1);
  assert.deepEqual(
    r.rows.map((x) => [x.sum, x.samples, x.coverage, x.source]),
    [[3, 1, 0.25, 'INTERVALS']],
  );
});

test('mixed units of one meter are summed in the canonical unit', () => {
  // A water meter delivering some intervals in m³ and some in L.
  const delivered: { ts: number; value: number; unit: Unit }[] = [
    { ts: t0, value: 0.004, unit: 'M3' },
    { ts: t0 + Q, value: 6, unit: 'L' },
    { ts: t0 + 2 * Q, value: 0.001, unit: 'M3' },
    { ts: t0 + 3 * Q, value: 2, unit: 'L' },
  ];
  const s = interval(
    900,
    delivered.map((d) => d.ts),
    delivered.map((d) => toCanonical('WATER', d.unit, d.value)),
  );
  const [row] = rollUp(s).rows;
  assert.ok(Math.abs(row.sum - 13) < 1e-9, `13 L, got ${row.sum}`);
  assert.ok(Math.abs(row.max - 6) < 1e-9);
});

test('a register index beside intervals is not consumption: the intervals stand, the register reconciles', () => {
  // A smart water meter: quarter-hour volumes and its register (12,000 m³ = 12,000,000 L) hourly.
  const readings: Reading[] = [
    { type: 'REGISTER', ts: t0, value: 12_000_000 },
    { type: 'REGISTER', ts: t0 + H, value: 12_000_010 },
  ];
  for (let q = 0; q < 4; q++) readings.push({ type: 'INTERVAL', ts: t0 + q * Q, value: 2.5, seconds: 900 });
  const agree = rollUp(series(readings));
  assert.deepEqual(
    agree.rows.map((r) => [r.sum, r.samples, r.coverage, r.source, r.mismatch]),
    [[10, 4, 1, 'INTERVALS', false]],
  );
  assert.equal(agree.mismatches, 0);
  // Within max(1 L, 2 %): 10.9 L against 10 L intervals is no mismatch; 12 L is.
  readings[1] = { ...readings[1], value: 12_000_010.9 };
  assert.equal(rollUp(series(readings)).mismatches, 0);
  readings[1] = { ...readings[1], value: 12_000_012 };
  const off = rollUp(series(readings));
  assert.deepEqual(
    off.rows.map((r) => [r.sum, r.source, r.mismatch]),
    [[10, 'INTERVALS', true]],
  );
  assert.equal(off.mismatches, 1);
  // The tolerance is configuration.
  assert.equal(rollUp(series(readings), -Infinity, Infinity, { units: 5, percent: 0 }).mismatches, 0);
});

test('registers fill only the time no interval covers, with the difference the intervals leave', () => {
  // Registers at 10:00 and 12:00 (30 units), intervals for 10:00-10:30 only (8 units): the other
  // 22 units spread over the uncovered 90 minutes.
  const r = rollUp(
    series([
      { type: 'REGISTER', ts: t0, value: 100, offset: 1 },
      { type: 'INTERVAL', ts: t0, value: 5, seconds: 900, offset: 7 },
      { type: 'INTERVAL', ts: t0 + Q, value: 3, seconds: 900, offset: 3 },
      { type: 'REGISTER', ts: t0 + 2 * H, value: 130, offset: 2 },
    ]),
  );
  const rows = r.rows.map((x) => [x.hour, +x.sum.toFixed(9), x.coverage, x.source, x.version]);
  assert.deepEqual(rows, [
    [t0, +(8 + 22 / 3).toFixed(9), 1, 'MIXED', 7],
    [t0 + H, +((22 * 2) / 3).toFixed(9), 1, 'REGISTERS', 7],
  ]);
  assert.ok(Math.abs(r.rows[0].sum + r.rows[1].sum - 30) < 1e-9, 'the register difference, exactly');
  // Intervals that already exceed the register difference: a mismatch, and nothing negative.
  const over = rollUp(
    series([
      { type: 'REGISTER', ts: t0, value: 100 },
      { type: 'INTERVAL', ts: t0, value: 50, seconds: 1800 },
      { type: 'REGISTER', ts: t0 + 2 * H, value: 110 },
    ]),
  );
  assert.equal(over.mismatches, 1);
  assert.deepEqual(
    over.rows.map((x) => [x.sum, x.mismatch]),
    [
      [50, true],
      [0, true],
    ],
  );
});

test('the order of readings of different types does not matter', () => {
  const readings: Reading[] = [
    { type: 'REGISTER', ts: t0 - 20 * 60_000, value: 40 },
    { type: 'INTERVAL', ts: t0 + Q, value: 1.25, seconds: 900 },
    { type: 'INTERVAL', ts: t0 + 2 * H, value: 4, seconds: 3600 },
    { type: 'REGISTER', ts: t0 + 150 * 60_000, value: 55 },
    { type: 'REGISTER', ts: t0 + 5 * H, value: 58 },
  ];
  const a = rollUp(series(readings));
  const b = rollUp(series([...readings].reverse()));
  assert.deepEqual(a, b);
  const total = a.rows.reduce((s, r) => s + r.sum, 0);
  assert.ok(Math.abs(total - (18 + 0)) < 1e-9, `register differences in full, got ${total}`);
});

test('temperature hours give min, max and the sum for the mean', () => {
  const rows = rollUp({
    type: [2, 2, 2, 2],
    intervalSeconds: [0, 0, 0, 0],
    modulus: [NaN, NaN, NaN, NaN],
    ts: [t0 + 60_000, t0 + 20 * 60_000, t0 + 40 * 60_000, t0 + H],
    value: [4, 2.5, 3, 9],
    offset: [1, 2, 3, 4],
  }).rows;
  assert.deepEqual(rows[0], {
    hour: t0,
    sum: 9.5,
    min: 2.5,
    max: 4,
    samples: 3,
    firstTs: t0 + 60_000,
    lastTs: t0 + 40 * 60_000,
    coverage: 1,
    version: 3,
    source: 'INSTANTS',
    mismatch: false,
  });
  assert.equal(rows[1].samples, 1);
});

test('only the requested hours are returned, with what reaches into them from outside', () => {
  const s = interval(7200, [t0 - H], [8]); // 09:00-11:00
  assert.deepEqual(
    rollUp(s, t0, t0 + H).rows.map((r) => [r.hour, r.sum]),
    [[t0, 4]],
  );
});
