/**
 * The detector state store on embedded ClickHouse: a batch whose transaction aborted after its
 * state was written is delivered again and must start from the state it started from the first
 * time; after a commit the next batch sees the new state; a restart (new store) restores both.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClickHouse,
  migrate,
  sinkInsertOptions,
  createRegistry,
  pipelineMetrics,
  type ClickHouseClient,
} from '@meterstream/core';
import { capturingLogger, testConfig } from '@meterstream/core/testing';
import { STATE_COLUMNS, StateStore } from './state-store.js';

const config = testConfig();
const clickhouse: ClickHouseClient = await createClickHouse(config.clickhouse);
after(() => clickhouse.close());
await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });

function store() {
  const { logger } = capturingLogger();
  const insert = sinkInsertOptions(clickhouse, config.clickhouse.database, 'anomaly_state', STATE_COLUMNS, {
    metrics: pipelineMetrics(createRegistry('t')),
    logger,
    signal: new AbortController().signal,
  });
  return new StateStore<{ n: number }>({
    clickhouse,
    database: config.clickhouse.database,
    source: 'topic-a',
    initial: () => ({ n: 0 }),
    insert,
    logger,
  });
}

test('state as of just before a batch, whatever attempts of it wrote', async () => {
  // Batch [0..9] commits: n = 1.
  let s = store();
  let ps = await s.begin(0, 0n);
  assert.equal(ps.get('m1').n, 0);
  ps.set('m1', 'default', 'p1', { n: 1 });
  await s.flush(0, ps, 9n);

  // Batch [10..19]: its state is written (n = 2), then its transaction aborts; the process dies.
  ps = await s.begin(0, 10n);
  assert.equal(ps.get('m1').n, 1, 'the committed batch state, from memory');
  ps.set('m1', 'default', 'p1', { n: 2 });
  await s.flush(0, ps, 19n);

  // A new instance gets the batch again from 10: it starts from n = 1, not the aborted n = 2.
  s = store();
  ps = await s.begin(0, 10n);
  assert.equal(ps.get('m1').n, 1, 'restored from the previous state of the aborted attempt');
  // This attempt also aborts after writing, with a shorter batch [10..14]...
  ps.set('m1', 'default', 'p1', { n: 2 });
  await s.flush(0, ps, 14n);
  // ...and the redelivery in this same process rewinds too (it applied up to 14 >= 10).
  ps = await s.begin(0, 10n);
  assert.equal(ps.get('m1').n, 1, 'a second aborted attempt still rewinds to the committed state');
  ps.set('m1', 'default', 'p1', { n: 2 });
  await s.flush(0, ps, 14n);

  // Committed at last: the next batch from 15 sees n = 2, here and after a restart.
  ps = await s.begin(0, 15n);
  assert.equal(ps.get('m1').n, 2);
  ps = await store().begin(0, 15n);
  assert.equal(ps.get('m1').n, 2, 'restored after a restart');
  assert.deepEqual(
    [...ps.entries()].map(([k]) => k),
    ['m1'],
    'every key of the partition is restored',
  );
  // Another partition is another state.
  assert.equal((await store().begin(1, 0n)).has('m1'), false);
});

test('an erased meter is forgotten: its state is not written back by the next batch', async () => {
  const s = store();
  let ps = await s.begin(7, 0n);
  ps.set('tenant\u001fgone\u001fWATER', 'tenant', 'gone', { n: 1 });
  ps.set('tenant\u001fstays\u001fWATER', 'tenant', 'stays', { n: 1 });
  await s.flush(7, ps, 0n);
  await clickhouse.command({ query: `DELETE FROM ${config.clickhouse.database}.anomaly_state WHERE meter = 'gone'` });
  s.forget('gone');
  ps = await s.begin(7, 1n);
  assert.deepEqual(
    [...ps.entries()].map(([k]) => k),
    ['tenant\u001fstays\u001fWATER'],
  );
  // Every key of the partition is rewritten (a silence tick can touch them all): not the erased one.
  for (const [k, v] of [...ps.entries()]) ps.set(k, 'tenant', k.split('\u001f')[1], { n: v.n + 1 });
  await s.flush(7, ps, 1n);
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM ${config.clickhouse.database}.anomaly_state WHERE meter = 'gone'`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  assert.equal((await rs.json<{ n: number }>())[0].n, 0);
});
