import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HourlyClock } from './hourly-clock.js';

test('strictly increasing in a process, even when the wall clock stands still or steps back', () => {
  let now = 1_800_000_000_000;
  const clock = new HourlyClock(() => now);
  const a = clock.tick();
  const b = clock.tick();
  now -= 60_000; // NTP stepped the clock back a minute
  const c = clock.tick();
  assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
  assert.equal(a, 1_800_000_000_000 * 1024);
});

test('a row stored by a process whose clock runs ahead is outranked by the next read', () => {
  const behind = new HourlyClock(() => 1_800_000_000_000);
  const ahead = new HourlyClock(() => 1_800_000_005_000); // 5 s ahead
  const stale = ahead.tick();
  assert.ok(behind.tick() < stale, 'without the stored version, the clock alone loses');
  assert.ok(behind.tick(stale) > stale, 'having read the stored row, the recompute wins');
});

test('a version is a safe integer for centuries', () => {
  const clock = new HourlyClock(() => Date.UTC(2247, 0, 1));
  assert.ok(Number.isSafeInteger(clock.tick() + 1_000_000));
});
