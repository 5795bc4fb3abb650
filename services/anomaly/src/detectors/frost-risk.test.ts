import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frostRisk, zeroCrossing, type FrostState } from './frost-risk.js';
import type { AlertTransition } from './detector.js';

const t0 = Date.UTC(2026, 0, 10, 0);
const M = 60_000;

function run(series: [number, number][]): AlertTransition[] {
  const d = frostRisk();
  let state: FrostState = d.initial();
  const out: AlertTransition[] = [];
  for (const [minutes, celsius] of series) {
    const r = d.step(state, { ts: t0 + minutes * M, celsius });
    state = r.state;
    out.push(...r.transitions);
  }
  return out;
}

test('a room that drops to 4 °C warns, at 1.5 °C escalates, and resolves only back at 8 °C', () => {
  const out = run([
    [0, 12],
    [15, 11.8],
    [30, 4],
    [45, 1.5],
    [60, 6],
    [75, 7.9],
    [90, 8.2],
  ]);
  assert.deepEqual(
    out.map((t) => [t.status, t.severity, (t.at - t0) / M]),
    [
      ['FIRING', 'WARNING', 30],
      ['FIRING', 'CRITICAL', 45],
      ['RESOLVED', 'CRITICAL', 90],
    ],
  );
  assert.ok(
    out.every((t) => t.episodeStart === t0 + 30 * M),
    'one episode',
  );
});

test('a room hovering around 5 °C fires once and does not flap', () => {
  const hover: [number, number][] = Array.from({ length: 24 }, (_, i) => [i * 15, i % 2 === 0 ? 4.9 : 5.3]);
  const out = run(hover);
  assert.equal(out.length, 1);
  assert.equal(out[0].status, 'FIRING');
});

test('a steady fall warns early, before 5 °C, when the 2-hour fit reaches 0 °C within 4 hours', () => {
  // 12 °C falling 2 °C per hour: reaches 0 °C 6 h after start; the early warning fires once
  // the fit says <= 4 h to go (at about 8 °C).
  const fall: [number, number][] = Array.from({ length: 12 }, (_, i) => [i * 15, 12 - 0.5 * i]);
  const out = run(fall);
  assert.equal(out.length, 1);
  assert.equal(out[0].severity, 'WARNING');
  const at = (out[0].at - t0) / M;
  assert.ok(at <= 120 && out[0].details.celsius > 5, `early: at ${at} min, ${out[0].details.celsius} °C`);
  assert.ok(Math.abs(out[0].details.slopeCPerHour + 2) < 1e-9);
});

test('a warm, stable room never alerts; the fit ignores a rising room', () => {
  assert.deepEqual(run(Array.from({ length: 20 }, (_, i) => [i * 15, 15 + (i % 3) * 0.1] as [number, number])), []);
  assert.equal(
    zeroCrossing([
      { ts: 0, c: 5 },
      { ts: 1, c: 6 },
    ]),
    null,
  );
});

test('a fast-cooling room warned early by the trend stays firing while it keeps falling', () => {
  // 16 °C falling 3 °C an hour, readings every 10 minutes: the fit reaches 0 °C within 4 h
  // while the room is still above the 8 °C resolve level.
  const series: [number, number][] = Array.from({ length: 30 }, (_, i) => [i * 10, Math.max(1, 16 - i * 0.5)]);
  const out = run(series);
  assert.equal(out.filter((t) => t.status === 'RESOLVED').length, 0, 'no all-clear while cooling');
  assert.equal(new Set(out.map((t) => t.episodeStart)).size, 1, 'one episode');
  assert.equal(out[0].severity, 'WARNING');
  assert.ok((out[0].at - t0) / M < 120, 'the early warning comes while the room is still warm');
});
