import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS, faultPlan, type PlannedFault } from './fault-plan.js';

const take = (seed: number, n: number): PlannedFault[] => {
  const out: PlannedFault[] = [];
  for (const f of faultPlan(seed)) {
    out.push(f);
    if (out.length === n) break;
  }
  return out;
};

test('a seed replays the same faults; every round of five holds each kind once, within its bounds', () => {
  assert.deepEqual(take(7, 20), take(7, 20));
  assert.notDeepEqual(take(7, 20), take(8, 20));
  const plan = take(3, 50);
  for (let i = 0; i < plan.length; i += FAULT_KINDS.length)
    assert.deepEqual(
      plan
        .slice(i, i + FAULT_KINDS.length)
        .map((p) => p.fault.kind)
        .sort(),
      [...FAULT_KINDS].sort(),
    );
  for (const { fault, pauseBeforeMs } of plan) {
    assert.ok(pauseBeforeMs >= 10_000 && pauseBeforeMs <= 30_000);
    if (fault.kind === 'clickhouse_stall') assert.ok(fault.ms >= 10_000 && fault.ms <= 90_000);
    if (fault.kind === 'statement_failures') assert.ok(fault.share >= 0.05 && fault.share <= 0.2);
    if (fault.kind === 'broker_restart') assert.equal(fault.ms, 20_000);
  }
});
