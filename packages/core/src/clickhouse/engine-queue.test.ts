import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineQueue, URGENT_RUN, urgently } from './engine-queue.js';

test('one statement at a time; queued urgent work goes before queued bulk work', async () => {
  const q = new EngineQueue();
  const order: string[] = [];
  let running = 0;
  const job = (name: string) => () =>
    q.run(async () => {
      running++;
      assert.equal(running, 1, 'never two at once');
      await new Promise((r) => setTimeout(r, 5));
      order.push(name);
      running--;
    });
  const all = [job('bulk-1')(), job('bulk-2')(), job('bulk-3')(), urgently(job('urgent-1')), urgently(job('urgent-2'))];
  await Promise.all(all);
  assert.deepEqual(order, ['bulk-1', 'urgent-1', 'urgent-2', 'bulk-2', 'bulk-3']);
});

test('bulk work is not starved: one bulk statement after a run of URGENT_RUN urgent ones while it waits', async () => {
  const q = new EngineQueue();
  const order: string[] = [];
  const job = (name: string) => () =>
    q.run(async () => {
      await new Promise((r) => setTimeout(r, 2));
      order.push(name);
    });
  const urgent = Array.from({ length: URGENT_RUN + 2 }, (_, i) => `u${i + 1}`);
  const all = [job('b1')(), job('b2')(), ...urgent.map((u) => urgently(job(u)))];
  await Promise.all(all);
  assert.deepEqual(order, ['b1', ...urgent.slice(0, URGENT_RUN), 'b2', ...urgent.slice(URGENT_RUN)]);
});

test('a failing statement releases the queue', async () => {
  const q = new EngineQueue();
  await assert.rejects(
    q.run(async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await q.run(async () => 42), 42);
});
