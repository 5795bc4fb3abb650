import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burst } from './burst.js';

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
