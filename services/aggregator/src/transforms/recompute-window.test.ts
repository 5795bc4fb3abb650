import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recomputeWindow } from './recompute-window.js';
import type { TouchedSeries } from '../workers/tasks.js';

const H = 3_600_000;
const t0 = Date.UTC(2026, 10, 20, 10);
const base: TouchedSeries = {
  tenant: 't',
  meter: 'm',
  kind: 'WATER',
  unit: 'L',
  readingType: 'INTERVAL',
  intervalSeconds: 900,
  zoneId: null,
  minTs: t0 + 15 * 60_000,
  maxTs: t0 + 45 * 60_000,
};

test('interval readings: the hours they reach, from every stored reading that reaches them', () => {
  const w = recomputeWindow(base);
  assert.deepEqual([w.fromHour, w.toHour], [t0, t0 + H]);
  assert.equal(w.readFrom, t0 - 900_000 + 1);
  // A 30-minute reading at 10:45 reaches into 11:00.
  const s = recomputeWindow({ ...base, intervalSeconds: 1800, minTs: t0 + 45 * 60_000, maxTs: t0 + 45 * 60_000 });
  assert.deepEqual([s.fromHour, s.toHour], [t0, t0 + 2 * H]);
});

test('registers: from the register before to the register after', () => {
  const s = { ...base, readingType: 'REGISTER' as const, intervalSeconds: 0, minTs: t0 + 2 * H, maxTs: t0 + 2 * H };
  const w = recomputeWindow(s, { prev: t0 - 30 * 60_000, next: t0 + 5 * H });
  assert.deepEqual(
    [w.fromHour, w.toHour, w.readFrom, w.readTo],
    [t0 - H, t0 + 5 * H, t0 - 30 * 60_000, t0 + 5 * H + 1],
  );
  const alone = recomputeWindow(s, { prev: null, next: null });
  assert.deepEqual([alone.fromHour, alone.toHour], [t0 + 2 * H, t0 + 3 * H]);
});

test('temperatures: the hours of the readings', () => {
  const w = recomputeWindow({
    ...base,
    kind: 'TEMPERATURE',
    unit: 'CELSIUS',
    readingType: 'INSTANT',
    intervalSeconds: 0,
    minTs: t0 + 5 * 60_000,
    maxTs: t0 + H + 1,
  });
  assert.deepEqual([w.fromHour, w.toHour, w.readFrom, w.readTo], [t0, t0 + 2 * H, t0, t0 + 2 * H]);
});
