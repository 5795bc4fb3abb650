import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pseudonymOf } from '@meterstream/core';
import { utcDaysAgo } from '@meterstream/core/testing';
import type { MeterSpec } from '@meterstream/aggregator/test-fleet';
import { hourlyVerdict, isExact, type StoredHour } from './hourly-verdict.js';

const H = 3_600_000;
const key = Buffer.alloc(32, 7);
const day = utcDaysAgo(3);
const meter: MeterSpec = {
  meterId: 'W1',
  kind: 'WATER',
  unit: 'L',
  readingType: 'INTERVAL',
  intervalSeconds: 3600,
  truth: new Map([
    [day, 10],
    [day + H, 20],
    [day + 2 * H, 30],
  ]),
};
const row = (hour: number, value: number, samples = 1): StoredHour => ({
  meter: pseudonymOf(key, 'default', 'W1'),
  kind: 'WATER',
  hour,
  value_sum: value,
  value_min: value,
  value_max: value,
  samples,
  coverage: 1,
});

test('hourly verdict: exact rows pass; a missing row is lost, a row counted twice doubled, a wrong sum wrong', () => {
  const exact = hourlyVerdict(key, [meter], [row(day, 10), row(day + H, 20), row(day + 2 * H, 30)]);
  assert.equal(exact.checked, 3);
  assert.ok(isExact(exact));

  const bad = hourlyVerdict(key, [meter], [row(day + H, 40, 2), row(day + 2 * H, 29), row(day + 3 * H, 5)]);
  assert.deepEqual(
    { lost: bad.lost, doubled: bad.doubled, wrong: bad.wrong, unexpected: bad.unexpected },
    { lost: 1, doubled: 1, wrong: 1, unexpected: 1 },
  );
  assert.equal(isExact(bad), false);
});
