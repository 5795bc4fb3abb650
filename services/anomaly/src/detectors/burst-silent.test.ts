import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burst } from './burst.js';
import { meterSilent, type SilenceInput, type SilenceState } from './meter-silent.js';

const H = 3_600_000;
const t0 = Date.UTC(2026, 10, 20);

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

test('METER_SILENT: hourly meter silent for 48 h fires; a daily meter gets 72 h; a reading resolves', () => {
  const d = meterSilent();
  const feed = (inputs: SilenceInput[]) => {
    let s: SilenceState = d.initial();
    const out = [];
    for (const i of inputs) {
      const r = d.step(s, i);
      s = r.state;
      out.push(...r.transitions);
    }
    return out;
  };
  const hourly = Array.from({ length: 10 }, (_, i) => ({ reading: t0 + i * H }));
  assert.deepEqual(feed([...hourly, { now: t0 + 9 * H + 47 * H }]), []);
  const silent = feed([
    ...hourly,
    { now: t0 + 9 * H + 49 * H },
    { now: t0 + 9 * H + 60 * H },
    { reading: t0 + 80 * H },
  ]);
  assert.deepEqual(
    silent.map((t) => t.status),
    ['FIRING', 'RESOLVED'],
  );
  const daily = Array.from({ length: 5 }, (_, i) => ({ reading: t0 + i * 24 * H }));
  assert.deepEqual(feed([...daily, { now: t0 + 4 * 24 * H + 60 * H }]), [], '3 x 24 h = 72 h for a daily meter');
  assert.equal(feed([...daily, { now: t0 + 4 * 24 * H + 73 * H }]).length, 1);
  // A silence no tick saw (its end came in the same batch): reported, already over.
  const unseen = feed([...hourly, { reading: t0 + 9 * H + 100 * H }]);
  assert.deepEqual(
    unseen.map((t) => [t.status, t.episodeStart]),
    [
      ['FIRING', t0 + 9 * H + 48 * H],
      ['RESOLVED', t0 + 9 * H + 48 * H],
    ],
  );
  assert.deepEqual(feed([...hourly, { reading: t0 + 9 * H + 40 * H }]), [], 'a gap inside the limit is no silence');
});
