import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burst, type BurstSpan, type BurstState } from './burst.js';
import type { AlertTransition } from './detector.js';

const H = 3_600_000;
const Q = 900_000;
const t0 = Date.UTC(2026, 10, 20);

/** Quarter hours from t0 with the given litres each. */
const quarters = (litres: number[]): BurstSpan[] =>
  litres.map((l, i) => ({ start: t0 + i * Q, end: t0 + (i + 1) * Q, litres: l }));

function run(spans: BurstSpan[]): AlertTransition[] {
  const d = burst();
  let s: BurstState = d.initial();
  const out: AlertTransition[] = [];
  for (const span of spans) {
    const r = d.step(s, span);
    s = r.state;
    out.push(...r.transitions);
  }
  return out;
}

test('BURST: 600 L in a fully covered hour is CRITICAL at once; 300 L over 20 minutes is not sustained enough', () => {
  const d = burst();
  const fired = d.step(d.initial(), { hour: t0, litres: 600, coverage: 1 });
  assert.equal(fired.transitions[0]?.severity, 'CRITICAL');
  assert.equal(fired.transitions[0]?.status, 'FIRING');
  const short = d.step(d.initial(), { hour: t0, litres: 300, coverage: 1 / 3 });
  assert.deepEqual(short.transitions, [], '900 L/h but only 20 minutes');
  const again = d.step(fired.state, { hour: t0 + H, litres: 700, coverage: 1 });
  assert.deepEqual(again.transitions, [], 'one alert per episode');
  const back = d.step(again.state, { hour: t0 + 2 * H, litres: 40, coverage: 1 });
  assert.equal(back.transitions[0]?.status, 'RESOLVED');
  assert.equal(back.transitions[0]?.episodeStart, t0);
});

test('BURST on quarter hours: 600 L/h for 30 minutes inside one hour fires at once, though the hour holds only 300 L', () => {
  // 150 L per quarter = 600 L/h, two quarters, then quiet: the hourly mean is 300 L/h.
  const got = run(quarters([0, 150, 150, 0, 0]));
  assert.equal(got.length, 2);
  const [fire, resolve] = got;
  assert.equal(fire.status, 'FIRING');
  assert.equal(fire.severity, 'CRITICAL');
  assert.equal(fire.episodeStart, t0 + Q, 'the episode starts with its first quarter above the rate');
  assert.equal(fire.at, t0 + 3 * Q, 'fired as soon as 30 minutes are seen');
  assert.equal(fire.details.rateLph, 600);
  assert.equal(fire.details.minutes, 30);
  assert.equal(resolve.status, 'RESOLVED');
  assert.equal(resolve.episodeStart, t0 + Q);
  assert.equal(resolve.at, t0 + 4 * Q, 'resolved by the first quarter below');
  // The same hour as one hourly value is 300 L/h: nothing.
  assert.deepEqual(run([{ start: t0, end: t0 + H, litres: 300 }]), []);
});

test('BURST on 5-minute intervals: 20 minutes above the rate is no burst; neither are 30 minutes with a hole or a dip', () => {
  const F = 300_000;
  const five = (litres: number[]): BurstSpan[] =>
    litres.map((l, i) => ({ start: t0 + i * F, end: t0 + (i + 1) * F, litres: l }));
  assert.deepEqual(run(five([0, 60, 60, 60, 60, 0, 0])), [], '720 L/h for 20 minutes');
  assert.deepEqual(run(five([60, 60, 60, 40, 60, 60, 60])), [], 'a 5-minute dip to 480 L/h splits the run');
  const holed = quarters([150, 0, 150]).filter((_, i) => i !== 1);
  assert.deepEqual(run(holed), [], 'a missing quarter is not flow: two 15-minute runs');
  assert.deepEqual(run(five([41, 41, 41, 41, 41, 41])), [], '492 L/h for 30 minutes is below the rate');
  assert.equal(run(five([51, 51, 51, 51, 51, 51]))[0]?.status, 'FIRING', '612 L/h for 30 minutes');
});

test('BURST: a single 30-minute interval above the rate fires; above-rate quarters after a hole keep an episode firing', () => {
  assert.equal(run([{ start: t0, end: t0 + 2 * Q, litres: 301 }])[0]?.status, 'FIRING');
  const got = run([...quarters([150, 150, 150]), { start: t0 + 5 * Q, end: t0 + 6 * Q, litres: 200 }]);
  assert.deepEqual(
    got.map((t) => t.status),
    ['FIRING'],
    'no second episode and no resolution while the flow stays above',
  );
});

test('BURST times are whole milliseconds, whatever share of the hour its readings cover', () => {
  // An hourly row covering 0.99999 of its hour used to end its span at a fractional millisecond,
  // which the Alert record (Avro longs) refused: the hourly consumer then failed on that batch forever.
  const d = burst();
  const fired = d.step(d.initial(), { hour: t0, litres: 900, coverage: 0.99999 });
  assert.equal(fired.transitions.length, 1);
  const resolved = d.step(fired.state, { hour: t0 + H, litres: 10, coverage: 0.333337 });
  for (const t of [...fired.transitions, ...resolved.transitions]) {
    assert.ok(Number.isInteger(t.at) && Number.isInteger(t.episodeStart), `${t.status} at ${t.at}`);
  }
});
