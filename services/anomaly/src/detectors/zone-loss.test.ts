import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTOR_DEFAULTS } from '@meterstream/core';
import { localHour } from './night-flow.js';
import { ZONE_LOSS_DEFAULTS, zoneLoss, zoneLossParams, type ZoneLossTransition } from './zone-loss.js';
import type { ZoneBalanceHour } from '../transforms/zone-balance.js';

const H = 3_600_000;
const start = Date.UTC(2026, 10, 9, 23); // 2026-11-10 00:00 local (Europe/Oslo)

/** A district of ~300 homes: customers use 30 L/h at night, 1500 L/h by day; background loss 150 L/h. */
function hourOf(hour: number, extra: { leakLph?: number; coverage?: number; inflowCoverage?: number } = {}) {
  const l = localHour(hour, 'Europe/Oslo');
  const customersL = l.hour >= 1 && l.hour < 5 ? 30 : 1500;
  const inflowL = customersL + 150 + (extra.leakLph ?? 0);
  return {
    hour,
    inflowL,
    customersL,
    balanceL: inflowL - customersL,
    inflowCoverage: extra.inflowCoverage ?? 1,
    customerCoverage: extra.coverage ?? 1,
  } satisfies ZoneBalanceHour;
}

function run(
  days: number,
  extra: (local: { date: string; hour: number }) => Parameters<typeof hourOf>[1] = () => ({}),
) {
  const d = zoneLoss();
  let s = d.initial();
  const out: ZoneLossTransition[] = [];
  for (let i = 0; i < days * 24; i++) {
    const hour = start + i * H;
    const r = d.step(s, hourOf(hour, extra(localHour(hour, 'Europe/Oslo'))));
    s = r.state;
    out.push(...r.transitions);
  }
  return out;
}

const leakOn =
  (dates: string[], lph = 1500, more: object = {}) =>
  (l: { date: string }) =>
    dates.includes(l.date) ? { leakLph: lph, ...more } : {};
const at = (t: ZoneLossTransition) => [t.status, new Date(t.at).toISOString()];

test('a district with background leakage below the thresholds never alerts', () => {
  assert.deepEqual(run(14), []);
});

test('a leak on three consecutive nights fires after the third night; a tight night resolves', () => {
  const out = run(8, leakOn(['2026-11-11', '2026-11-12', '2026-11-13']));
  assert.deepEqual(out.map(at), [
    ['FIRING', '2026-11-13T04:00:00.000Z'], // end of the local 02-05 window
    ['RESOLVED', '2026-11-14T04:00:00.000Z'],
  ]);
  assert.equal(out[1].episodeStart, out[0].episodeStart);
  assert.equal(out[0].severity, 'WARNING');
  assert.equal(out[0].details.nightBalanceLph, 1650);
  assert.equal(out[0].details.minNightFlowLph, 1680, "the zone's minimum night flow: the lowest hourly inflow");
  assert.equal(out[0].details.nights, 3);
});

test('two lossy nights, a tight one, then two more: no alert with N = 3', () => {
  assert.deepEqual(run(8, leakOn(['2026-11-11', '2026-11-12', '2026-11-14', '2026-11-15'])), []);
});

test('a loss above the absolute threshold but below the share of inflow is not lossy', () => {
  // A large district: 20,000 L/h at night legitimately, 1650 L/h over the balance is 8 %.
  const d = zoneLoss();
  let s = d.initial();
  const out: ZoneLossTransition[] = [];
  for (let i = 0; i < 24 * 6; i++) {
    const hour = start + i * H;
    const h = hourOf(hour, { leakLph: 1500 });
    const r = d.step(s, { ...h, inflowL: h.inflowL + 20_000, customersL: h.customersL + 20_000 });
    s = r.state;
    out.push(...r.transitions);
  }
  assert.deepEqual(out, []);
});

test('nights with too few customer meters covered, or an inflow meter missing, are not judged', () => {
  const dates = ['2026-11-11', '2026-11-12', '2026-11-13', '2026-11-14'];
  assert.deepEqual(run(8, leakOn(dates, 1500, { coverage: 0.9 })), []);
  assert.deepEqual(run(8, leakOn(dates, 1500, { inflowCoverage: 0.5 })), []);
  // An unjudged night in between neither counts nor breaks the run.
  const out = run(8, (l) =>
    l.date === '2026-11-12' ? { leakLph: 1500, coverage: 0.5 } : leakOn(['2026-11-11', '2026-11-13', '2026-11-14'])(l),
  );
  assert.deepEqual(out.map(at), [
    ['FIRING', '2026-11-14T04:00:00.000Z'],
    ['RESOLVED', '2026-11-15T04:00:00.000Z'],
  ]);
});

test('an unjudged night resolves nothing', () => {
  const out = run(8, (l) =>
    l.date === '2026-11-14' ? { coverage: 0 } : leakOn(['2026-11-11', '2026-11-12', '2026-11-13'])(l),
  );
  assert.deepEqual(out.map(at), [
    ['FIRING', '2026-11-13T04:00:00.000Z'],
    ['RESOLVED', '2026-11-15T04:00:00.000Z'],
  ]);
});

test("the tenant's time zone and night window place the night", () => {
  const params = zoneLossParams({ ...DETECTOR_DEFAULTS, nightStartHour: 0, nightEndHour: 2, zoneLossNights: 1 });
  const d = zoneLoss(params);
  let s = d.initial();
  const out: ZoneLossTransition[] = [];
  for (let i = 0; i < 24 * 2; i++) {
    const hour = start + i * H;
    const r = d.step(s, hourOf(hour, { leakLph: 3000 }));
    s = r.state;
    out.push(...r.transitions);
  }
  assert.deepEqual(out.map(at)[0], ['FIRING', '2026-11-10T01:00:00.000Z']);
  assert.equal(ZONE_LOSS_DEFAULTS.startHour, 2);
  assert.equal(ZONE_LOSS_DEFAULTS.endHour, 5);
});
