import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearRange, recomputeWindow } from './recompute-window.js';
import type { TouchedSeries } from '../workers/tasks.js';

const H = 3_600_000;
const D = 24 * H;
const t0 = Date.UTC(2026, 10, 20, 10);
const base: TouchedSeries = {
  tenant: 't',
  meter: 'm',
  kind: 'WATER',
  unit: 'L',
  zoneId: null,
  instant: false,
  minTs: t0 + 15 * 60_000,
  maxTs: t0 + 45 * 60_000,
  reach: t0 + 60 * 60_000,
  intervalSeconds: 900,
};
const none = { prev: null, next: null };

test('interval readings without registers: the hours they reach, from every stored reading that reaches them', () => {
  const w = recomputeWindow(base, none, none);
  assert.deepEqual([w.fromHour, w.toHour, w.readFrom, w.readTo], [t0, t0 + H, t0 - 900_000, t0 + H + 1]);
  // A 30-minute reading at 10:45 reaches into 11:00.
  const s = {
    ...base,
    intervalSeconds: 1800,
    minTs: t0 + 45 * 60_000,
    maxTs: t0 + 45 * 60_000,
    reach: t0 + 75 * 60_000,
  };
  const x = recomputeWindow(s, none, none);
  assert.deepEqual([x.fromHour, x.toHour], [t0, t0 + 2 * H]);
});

test('a new interval inside a register span recomputes the whole span, reading the spans around it', () => {
  // Registers at 00:00 and 23:00 around the 10:xx intervals: the span's remainder changes in every hour.
  const near = { prev: t0 - 10 * H, next: t0 + 13 * H };
  assert.deepEqual(nearRange(base), { before: base.minTs, after: base.reach - 1 });
  const w = recomputeWindow(base, near, { prev: t0 - 10 * H - 30 * 60_000, next: t0 + 13 * H + 1 });
  assert.deepEqual([w.fromHour, w.toHour], [t0 - 10 * H, t0 + 13 * H]);
  // From the register before the first hour, with the intervals inside that span; to the register after.
  assert.deepEqual([w.readFrom, w.readTo], [t0 - 10 * H - 30 * 60_000 - D, t0 + 13 * H + 2]);
});

test('registers: from the register before to the register after', () => {
  const s = { ...base, intervalSeconds: 0, minTs: t0 + 2 * H, maxTs: t0 + 2 * H, reach: t0 + 2 * H + 1 };
  assert.equal(nearRange(s).after, t0 + 2 * H, 'the next register is strictly after the new one');
  const w = recomputeWindow(s, { prev: t0 - 30 * 60_000, next: t0 + 5 * H }, none);
  assert.deepEqual([w.fromHour, w.toHour, w.readFrom, w.readTo], [t0 - H, t0 + 5 * H, t0 - H, t0 + 5 * H + 1]);
  const alone = recomputeWindow(s, none, none);
  assert.deepEqual([alone.fromHour, alone.toHour], [t0 + 2 * H, t0 + 3 * H]);
});

test('temperatures: the hours of the readings', () => {
  const w = recomputeWindow({
    ...base,
    kind: 'TEMPERATURE',
    unit: 'CELSIUS',
    instant: true,
    intervalSeconds: 0,
    minTs: t0 + 5 * 60_000,
    maxTs: t0 + H + 1,
    reach: t0 + H + 2,
  });
  assert.deepEqual([w.fromHour, w.toHour, w.readFrom, w.readTo], [t0, t0 + 2 * H, t0, t0 + 2 * H]);
});
