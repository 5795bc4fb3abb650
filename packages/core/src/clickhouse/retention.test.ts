/**
 * Retention, proven on the engine: for every table with a TTL, a row just outside the retention
 * is gone after a merge while a row just inside stays; a changed retention changes the table.
 *
 * How TTL deletes are forced on chDB 26.7: ClickHouse applies a TTL when it merges parts (a
 * part's TTL bounds are computed at insert), and `OPTIMIZE TABLE ... FINAL` merges every
 * partition at once, dropping expired rows (`ttl_only_drop_parts` is 0, so single rows, not
 * only whole expired parts). `merge_with_ttl_timeout` paces only the background TTL merges,
 * not OPTIMIZE. Those background merges are quick on the embedded engine: an expired row
 * disappears within a second of its insert. So merges are stopped (`SYSTEM STOP MERGES`)
 * while the probe rows are written and read back — the test sees the expired row stored
 * before it sees it gone — and started again for the OPTIMIZE. After `MODIFY TTL`, existing
 * parts keep their old TTL bounds until `MATERIALIZE TTL`, which ClickHouse runs by itself
 * (`materialize_ttl_after_modify`, on by default) as a mutation; the test waits for it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RetentionConfig } from '../config.js';
import { testConfig, waitFor } from '../testing.js';
import { createClickHouse } from './client.js';
import { currentTtl, migrate, ttlExpressions } from './migrations.js';

// One embedded engine for this file (one per process).
const config = testConfig();
const db = config.clickhouse.database;
const client = await createClickHouse(config.clickhouse);
after(() => client.close());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Probe {
  /** String columns that get the row's label (the first is read back); they keep rows apart in the sorting key. */
  ids: string[];
  /** The time column the TTL counts from. */
  time: string;
  /** Times (epoch ms) of a row just outside and one just inside the retention at `now`. */
  times: (retention: RetentionConfig, now: number) => { outside: number; inside: number };
}

const days = (n: number, now: number) => ({ outside: now - n * DAY - HOUR, inside: now - n * DAY + HOUR });

const PROBES: Record<string, Probe> = {
  readings_raw: { ids: ['meter'], time: 'ts', times: (r, now) => days(r.rawDays, now) },
  readings_hourly: { ids: ['meter'], time: 'hour', times: (r, now) => days(r.hourlyDays, now) },
  spot_prices: { ids: ['price_area'], time: 'hour', times: (r, now) => days(r.hourlyDays, now) },
  // Counted from the episode's end (a firing episode is kept: see the last test).
  alerts: { ids: ['meter', 'dedup_key'], time: 'ends_at', times: (r, now) => days(r.alertsDays, now) },
  anomaly_state: { ids: ['key', 'meter'], time: 'updated_at', times: (r, now) => days(r.alertsDays, now) },
  erasure_audit: { ids: ['pseudonym'], time: 'erased_at', times: (r, now) => days(r.auditDays, now) },
  export_audit: { ids: ['pseudonym'], time: 'exported_at', times: (r, now) => days(r.auditDays, now) },
  meter_blocks: { ids: ['pseudonym'], time: 'at', times: (r, now) => days(r.auditDays, now) },
  alert_deliveries: { ids: ['alert_id', 'meter'], time: 'starts_at', times: (r, now) => days(r.alertsDays, now) },
  alert_holds: { ids: ['alert_id', 'meter'], time: 'held_at', times: (r, now) => days(r.alertsDays, now) },
  alert_acks: { ids: ['dedup_key', 'meter'], time: 'starts_at', times: (r, now) => days(r.alertsDays, now) },
  alert_silences: { ids: ['silence_id'], time: 'ends_at', times: (r, now) => days(r.alertsDays, now) },
  alert_silence_audit: { ids: ['silence_id'], time: 'at', times: (r, now) => days(r.auditDays, now) },
  // Counted from the end of the fiscal (calendar) year: a period ending on the last day of the
  // year `years + 1` back is due; one ending on the first day of the year after is kept.
  invoice_checks: {
    ids: ['meter', 'invoice_id'],
    time: 'period_end',
    times: (r, now) => {
      const year = new Date(now).getUTCFullYear() - r.invoiceChecksYears;
      return { outside: Date.UTC(year - 1, 11, 31, 23), inside: Date.UTC(year, 0, 1, 1) };
    },
  },
};

async function labels(table: string): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT {id:Identifier} AS label FROM {db:Identifier}.{table:Identifier} ORDER BY label`,
    query_params: { db, table, id: PROBES[table].ids[0] },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ label: string }>()).map((r) => r.label);
}

/**
 * Writes `<tag>-outside` and `<tag>-inside` rows for `retention`, checks both are stored,
 * forces the merge, and returns the labels left in the table.
 */
async function probe(table: string, retention: RetentionConfig, tag: string): Promise<string[]> {
  const p = PROBES[table];
  const { outside, inside } = p.times(retention, Date.now());
  const target = { db, table };
  await client.command({ query: 'SYSTEM STOP MERGES {db:Identifier}.{table:Identifier}', query_params: target });
  try {
    for (const [label, ms] of [
      [`${tag}-outside`, outside],
      [`${tag}-inside`, inside],
    ] as const) {
      // INSERT ... SELECT casts the DateTime64 to the column's type (DateTime for `hour`).
      await client.command({
        query: `INSERT INTO {db:Identifier}.{table:Identifier} (${[...p.ids, p.time].join(', ')})
                SELECT ${p.ids.map(() => '{label:String}').join(', ')}, fromUnixTimestamp64Milli({ms:Int64}, 'UTC')`,
        query_params: { ...target, label, ms },
      });
    }
    const stored = await labels(table);
    assert.ok(
      stored.includes(`${tag}-outside`) && stored.includes(`${tag}-inside`),
      `${table}: both probe rows stored before the merge (${stored})`,
    );
  } finally {
    await client.command({ query: 'SYSTEM START MERGES {db:Identifier}.{table:Identifier}', query_params: target });
  }
  await client.command({ query: 'OPTIMIZE TABLE {db:Identifier}.{table:Identifier} FINAL', query_params: target });
  return labels(table);
}

async function tableTtl(table: string): Promise<string | null> {
  const rs = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {table:String}',
    query_params: { db, table },
    format: 'JSONEachRow',
  });
  return currentTtl((await rs.json<{ engine_full: string }>())[0].engine_full);
}

await migrate(client, { database: db, retention: config.retention });
const tables = Object.keys(ttlExpressions(config.retention));

test('every table with a TTL has a retention probe', () => {
  assert.deepEqual(
    tables.filter((t) => PROBES[t] === undefined),
    [],
    'add a probe for each new table in ttlExpressions()',
  );
});

for (const table of tables) {
  test(`${table}: a row just outside the retention is gone after a merge, a row just inside stays`, async () => {
    assert.equal(await tableTtl(table), ttlExpressions(config.retention)[table]);
    assert.deepEqual(await probe(table, config.retention, 'v1'), ['v1-inside']);
  });
}

test('a changed retention changes every table on the next migration, and the rows it keeps', async () => {
  const changed: RetentionConfig = {
    rawDays: 30,
    hourlyDays: 400,
    alertsDays: 90,
    invoiceChecksYears: 2,
    auditDays: 365,
  };
  for (const key of Object.keys(config.retention) as (keyof RetentionConfig)[]) {
    assert.ok(changed[key] < config.retention[key], `${key} shorter than the default, so v1-inside falls out`);
  }
  const result = await migrate(client, { database: db, retention: changed });
  assert.deepEqual([...result.ttlChanged].sort(), [...tables].sort());
  for (const table of tables) {
    assert.equal(await tableTtl(table), ttlExpressions(changed)[table], `${table}: engine_full carries the new TTL`);
    assert.notEqual(ttlExpressions(changed)[table], ttlExpressions(config.retention)[table]);
  }
  // MODIFY TTL recomputes the TTL of stored parts in a MATERIALIZE TTL mutation.
  await waitFor('MATERIALIZE TTL done', async () => {
    const rs = await client.query({
      query: 'SELECT count() AS n FROM system.mutations WHERE database = {db:String} AND NOT is_done',
      query_params: { db },
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ n: number | string }>())[0].n) === 0;
  });
  for (const table of tables) {
    // v1-inside was inside the old retention and is outside the new one.
    assert.deepEqual(await probe(table, changed, 'v2'), ['v2-inside'], `${table} under the changed retention`);
  }
  const again = await migrate(client, { database: db, retention: changed });
  assert.deepEqual(again.ttlChanged, [], 'an unchanged configuration alters nothing');
});

test('a firing alert episode and the detector state holding it are kept, however long ago they started', async () => {
  const longAgo = Date.now() - 5 * 365 * DAY;
  await client.command({
    query: `INSERT INTO {db:Identifier}.alerts (meter, dedup_key, status, starts_at, ends_at)
            SELECT 'firing-kept', 'firing-kept', 'FIRING', fromUnixTimestamp64Milli({ms:Int64}, 'UTC'), NULL`,
    query_params: { db, ms: longAgo },
  });
  await client.command({
    query: `INSERT INTO {db:Identifier}.anomaly_state (key, meter, state, updated_at) VALUES
            ('firing-kept', 'firing-kept', '{"silence":{"lastArrival":1,"gaps":[],"firing":{"since":2}}}', fromUnixTimestamp64Milli({ms:Int64}, 'UTC')),
            ('open-kept', 'open-kept', '{"zoneId":null,"open":{"NIGHT_FLOW/night":{"episodeStart":1,"severity":"WARNING"}}}', fromUnixTimestamp64Milli({ms:Int64}, 'UTC')),
            ('quiet-gone', 'quiet-gone', '{"zoneId":null,"open":{},"silence":{"firing":null}}', fromUnixTimestamp64Milli({ms:Int64}, 'UTC'))`,
    query_params: { db, ms: longAgo },
  });
  for (const table of ['alerts', 'anomaly_state'])
    await client.command({
      query: 'OPTIMIZE TABLE {db:Identifier}.{table:Identifier} FINAL',
      query_params: { db, table },
    });
  assert.ok((await labels('alerts')).includes('firing-kept'), 'the firing episode is kept');
  const states = await labels('anomaly_state');
  assert.ok(states.includes('firing-kept') && states.includes('open-kept'), 'states holding firing episodes are kept');
  assert.ok(!states.includes('quiet-gone'), 'a state without a firing episode expires');
});
