import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localHour, nightFlow, type NightFlowState } from './night-flow.js';
import type { AlertTransition } from './detector.js';
import { hourlyOrFiner, type RowResolution } from './resolution.js';

const H = 3_600_000;

/** Feeds hourly litres from `start` (UTC); `flow(localHour, i)` gives each hour's litres. */
function run(
  start: number,
  hours: number,
  flow: (local: { date: string; hour: number }, i: number) => number,
): AlertTransition[] {
  const d = nightFlow();
  let s: NightFlowState = d.initial();
  const out: AlertTransition[] = [];
  for (let i = 0; i < hours; i++) {
    const hour = start + i * H;
    const r = d.step(s, { hour, litres: flow(localHour(hour, 'Europe/Oslo'), i) });
    s = r.state;
    out.push(...r.transitions);
  }
  return out;
}

// A household: water in the morning and evening, none at night, plus one toilet flush at 03:00.
const household = (l: { hour: number }) => (l.hour === 7 || l.hour === 19 ? 80 : l.hour === 3 ? 6 : 0);
// A leak that runs through the small hours (00-06 local) of the given local dates.
const nights = (leakNights: string[], lph: number) => (l: { date: string; hour: number }) =>
  household(l) + (leakNights.includes(l.date) && l.hour < 6 ? lph : 0);
const start = Date.UTC(2026, 10, 9, 23); // 2026-11-10 00:00 local

test('a normal household with a night-time flush never alerts', () => {
  assert.deepEqual(run(start, 24 * 10, household), []);
});

test('a leak on one night only does not fire with N = 2', () => {
  assert.deepEqual(run(start, 24 * 5, nights(['2026-11-12'], 20)), []);
});

test('two leaky nights fire WARNING after the second night; a quiet night resolves', () => {
  const out = run(start, 24 * 6, nights(['2026-11-11', '2026-11-12'], 20));
  assert.deepEqual(
    out.map((t) => [t.status, t.severity, new Date(t.at).toISOString()]),
    [
      ['FIRING', 'WARNING', '2026-11-12T04:00:00.000Z'], // end of the local 02-05 window
      ['RESOLVED', 'WARNING', '2026-11-13T04:00:00.000Z'],
    ],
  );
  assert.equal(out[0].details.minNightFlowLph, 20);
});

test('above 50 L/h the leak is CRITICAL', () => {
  const out = run(start, 24 * 3, (l) => household(l) + (l.hour >= 0 && l.hour < 6 ? 60 : 0) + 0);
  const firing = out.find((t) => t.status === 'FIRING' && t.details.nights);
  assert.equal(firing?.severity, 'CRITICAL');
});

test('DST nights: the spring night has 2 window hours, the autumn night 4, and both are judged', () => {
  // 2026-03-29: 02:00 local does not exist; 2026-10-25: 02:00-03:00 local happens twice.
  const spring = run(Date.UTC(2026, 2, 26, 23), 24 * 4, nights(['2026-03-28', '2026-03-29'], 15));
  assert.equal(spring.filter((t) => t.status === 'FIRING').length, 1);
  assert.equal(spring[0].at, Date.UTC(2026, 2, 29, 3), '05:00 CEST is 03:00 UTC');
  const autumn = run(Date.UTC(2026, 9, 22, 22), 24 * 4, nights(['2026-10-24', '2026-10-25'], 15));
  assert.equal(autumn.filter((t) => t.status === 'FIRING').length, 1);
  assert.equal(autumn[0].at, Date.UTC(2026, 9, 25, 4), '05:00 CET is 04:00 UTC');
  let windowHours = 0;
  for (let h = Date.UTC(2026, 9, 24, 22); h < Date.UTC(2026, 9, 25, 23); h += H) {
    const l = localHour(h, 'Europe/Oslo');
    if (l.date === '2026-10-25' && l.hour >= 2 && l.hour < 5) windowHours++;
  }
  assert.equal(windowHours, 4);
});

test('continuous flow: no zero-flow hour in 24 hours fires; one zero-flow hour resolves', () => {
  const out = run(start, 40, (_l, i) => (i < 30 ? 3 : 0));
  assert.deepEqual(
    out
      .filter((t) => t.details.hoursWithoutZeroFlow !== undefined || t.summary.startsWith('A zero-flow'))
      .map((t) => t.status),
    ['FIRING', 'RESOLVED'],
  );
});

/** Feeds hourly rows as the consumer does: litres and whether the hour's readings are 1 h or finer. */
function runRows(rows: RowResolution[], litres: (r: RowResolution) => number): AlertTransition[] {
  const d = nightFlow();
  let s: NightFlowState = d.initial();
  const out: AlertTransition[] = [];
  for (const r of rows) {
    const step = d.step(s, { hour: r.hour, litres: litres(r), coarse: !hourlyOrFiner(r) });
    s = step.state;
    out.push(...step.transitions);
  }
  return out;
}

test('once-a-day readers (400 L a day, spread over the hours) get no NIGHT_FLOW verdict, night or continuous', () => {
  const day0 = Date.UTC(2026, 10, 1, 23); // local midnight, Europe/Oslo in winter
  const rows: RowResolution[] = [];
  for (let day = 0; day < 10; day++) {
    const t0 = day0 + day * 24 * H;
    // A daily register: one span [t0, t0 + 24 h) spread evenly over its hours (the roll-up).
    for (let h = 0; h < 24; h++)
      rows.push({ hour: t0 + h * H, samples: 1, firstTs: t0, lastTs: t0 + 24 * H, coverage: 1 });
  }
  assert.equal(rows.filter(hourlyOrFiner).length, 0, 'a 24-hour span reaches past every hour it covers');
  assert.deepEqual(
    runRows(rows, () => 400 / 24),
    [],
  );
  // The same water read every hour is judged: 16.7 L/h all night is a leak, and flow never stops.
  const hourly = rows.map((r) => ({ ...r, firstTs: r.hour, lastTs: r.hour + H }));
  assert.deepEqual([...new Set(runRows(hourly, () => 400 / 24).map((t) => `${t.variant} ${t.status}`))].sort(), [
    'continuous FIRING',
    'night FIRING',
  ]);
});

test('continuous flow: hours without data are not flow; 24 consecutive flowing hours with data are', () => {
  const start = Date.UTC(2026, 10, 2);
  const row = (i: number): RowResolution => ({
    hour: start + i * H,
    samples: 4,
    firstTs: start + i * H,
    lastTs: start + i * H + 45 * 60_000,
    coverage: 1,
  });
  // 30 hours of flow with the 12th hour missing: never 24 consecutive hours with data.
  const gap = Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 12);
  assert.deepEqual(
    runRows(gap.map(row), () => 5).filter((t) => t.variant === 'continuous'),
    [],
  );
  const full = runRows(
    Array.from({ length: 30 }, (_, i) => row(i)),
    () => 5,
  ).filter((t) => t.variant === 'continuous');
  assert.deepEqual(
    full.map((t) => [t.status, t.episodeStart]),
    [['FIRING', start + 24 * H]],
  );
});
