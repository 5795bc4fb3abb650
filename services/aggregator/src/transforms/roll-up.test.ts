import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOUR_MS, rollUp, rolloverModulus, type Series } from './roll-up.js';

const H = HOUR_MS;
const Q = 15 * 60_000;
const t0 = Date.UTC(2026, 10, 20, 10); // 10:00 UTC

const offsets = (n: number) => Array.from({ length: n }, (_, i) => 100 + i);
const interval = (seconds: number, ts: number[], value: number[]): Series => ({
  readingType: 'INTERVAL',
  intervalSeconds: seconds,
  ts,
  value,
  offset: offsets(ts.length),
});

test('four quarter-hours make a complete hour; three make 75% coverage', () => {
  const full = rollUp(interval(900, [t0, t0 + Q, t0 + 2 * Q, t0 + 3 * Q], [1, 2, 3, 4])).rows;
  assert.deepEqual(full, [
    { hour: t0, sum: 10, min: 1, max: 4, samples: 4, firstTs: t0, lastTs: t0 + 3 * Q, coverage: 1, version: 103 },
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
  const rows = rollUp({
    readingType: 'REGISTER',
    intervalSeconds: 0,
    ts: [t0, t0 + 2 * H, t0 + 3 * H],
    value: [100, 110, 111.5],
    offset: [5, 9, 7],
  });
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
});

test('a register rollover counts the wrapped consumption; a reset invents none and leaves the span uncovered', () => {
  const wrap = rollUp({
    readingType: 'REGISTER',
    intervalSeconds: 0,
    ts: [t0, t0 + H],
    value: [99_990, 5],
    offset: [1, 2],
  });
  assert.equal(wrap.rows[0].sum, 15);
  assert.equal(wrap.rollovers, 1);
  const reset = rollUp({
    readingType: 'REGISTER',
    intervalSeconds: 0,
    ts: [t0, t0 + H, t0 + 2 * H],
    value: [500, 3, 4],
    offset: [1, 2, 3],
  });
  assert.equal(reset.resets, 1);
  assert.deepEqual(
    reset.rows.map((r) => [r.hour, r.sum, r.samples, r.coverage]),
    [
      [t0, 0, 0, 0],
      [t0 + H, 1, 1, 1],
    ],
  );
  assert.ok(
    reset.rows.every((r) => r.sum >= 0),
    'never negative consumption',
  );
  assert.equal(rolloverModulus(99_990, 5), 100_000);
  assert.equal(rolloverModulus(500, 3), null);
  assert.equal(rolloverModulus(950, 20), 1000);
});

test('temperature hours give min, max and the sum for the mean', () => {
  const rows = rollUp({
    readingType: 'INSTANT',
    intervalSeconds: 0,
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
