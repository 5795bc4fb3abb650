import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile } from './reconcile.js';
import type { AlertTransition } from '../detectors/detector.js';

const fire = (episodeStart: number, severity: 'WARNING' | 'CRITICAL' = 'WARNING'): AlertTransition => ({
  type: 'NIGHT_FLOW',
  variant: 'night',
  status: 'FIRING',
  severity,
  episodeStart,
  at: episodeStart,
  summary: 'leak',
  details: { x: 1 },
});
const resolve = (episodeStart: number, at: number): AlertTransition => ({
  type: 'NIGHT_FLOW',
  variant: 'night',
  status: 'RESOLVED',
  severity: 'WARNING',
  episodeStart,
  at,
  summary: 'quiet night',
  details: {},
});

test('a new open episode fires once; replaying the same series again publishes nothing', () => {
  const first = reconcile({}, [fire(100)], ['NIGHT_FLOW'], 200);
  assert.equal(first.transitions.length, 1);
  assert.deepEqual(first.open, { 'NIGHT_FLOW/night': { episodeStart: 100, severity: 'WARNING' } });
  // The replay window moved: the same ongoing leak appears with a later start. Still one alert.
  const again = reconcile(first.open, [fire(150)], ['NIGHT_FLOW'], 300);
  assert.deepEqual(again.transitions, []);
  assert.deepEqual(again.open, first.open);
});

test('escalation keeps the episode; a genuine resolve carries the detector reason', () => {
  const esc = reconcile(
    { 'NIGHT_FLOW/night': { episodeStart: 100, severity: 'WARNING' } },
    [fire(150, 'CRITICAL')],
    ['NIGHT_FLOW'],
    300,
  );
  assert.equal(esc.transitions[0].episodeStart, 100);
  assert.equal(esc.transitions[0].severity, 'CRITICAL');
  const res = reconcile(esc.open, [fire(150), resolve(150, 400)], ['NIGHT_FLOW'], 500);
  assert.equal(res.transitions[0].status, 'RESOLVED');
  assert.equal(res.transitions[0].summary, 'quiet night');
  assert.equal(res.transitions[0].episodeStart, 100);
  assert.deepEqual(res.open, {
    'NIGHT_FLOW/night': { episodeStart: 100, severity: 'CRITICAL', resolvedAt: 400 },
  });
});

test('an alert raised on data that was later corrected resolves with that reason', () => {
  const res = reconcile({ 'NIGHT_FLOW/night': { episodeStart: 100, severity: 'WARNING' } }, [], ['NIGHT_FLOW'], 500);
  assert.equal(res.transitions.length, 1);
  assert.equal(res.transitions[0].status, 'RESOLVED');
  assert.equal(res.transitions[0].details.corrected, 1);
  assert.match(res.transitions[0].summary, /corrected/);
});

test('episodes of other types are left alone', () => {
  const res = reconcile({ 'BURST/': { episodeStart: 1, severity: 'CRITICAL' } }, [], ['NIGHT_FLOW'], 500);
  assert.deepEqual(res.transitions, []);
  assert.ok(res.open['BURST/']);
});

test('an episode that began and ended in hours not evaluated before fires and resolves; an old one does not repeat', () => {
  const burst = (status: 'FIRING' | 'RESOLVED', at: number): AlertTransition => ({
    type: 'BURST',
    status,
    severity: 'CRITICAL',
    episodeStart: 1000,
    at,
    summary: status,
    details: {},
  });
  const fresh = reconcile({}, [burst('FIRING', 1100), burst('RESOLVED', 1200)], ['BURST'], 1300, 1000);
  assert.deepEqual(
    fresh.transitions.map((t) => t.status),
    ['FIRING', 'RESOLVED'],
  );
  assert.deepEqual(fresh.open, {});
  const again = reconcile({}, [burst('FIRING', 1100), burst('RESOLVED', 1200)], ['BURST'], 1400, 1300);
  assert.deepEqual(again.transitions, []);
});

test('an episode resolved by a correction and derived again by a further one is a new episode, with new ids', () => {
  const fired = reconcile({}, [fire(100)], ['NIGHT_FLOW'], 200);
  // A correction: the replay no longer shows the leak, so the published episode resolves.
  const corrected = reconcile(fired.open, [], ['NIGHT_FLOW'], 300);
  assert.equal(corrected.transitions.length, 1);
  assert.equal(corrected.transitions[0].status, 'RESOLVED');
  assert.equal(corrected.open['NIGHT_FLOW/night'].resolvedAt, 300);
  // A further correction brings the leak back: published as a new episode (a later start), not
  // as the first FIRING again, whose ids a receiver has already seen and resolved.
  const back = reconcile(corrected.open, [fire(100)], ['NIGHT_FLOW'], 400);
  assert.equal(back.transitions.length, 1);
  assert.equal(back.transitions[0].status, 'FIRING');
  assert.ok(back.transitions[0].episodeStart > 300, 'a new episode start, so a new dedupKey and alertId');
  // Replayed again: the same open episode, nothing published.
  assert.deepEqual(reconcile(back.open, [fire(100)], ['NIGHT_FLOW'], 500).transitions, []);
});
