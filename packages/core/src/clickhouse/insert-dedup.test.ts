/**
 * Insert deduplication on the embedded engine: an insert retried after a lost answer (the same
 * body from the same input batch) stores nothing twice, also through the inbox's view; other
 * rows or another batch are stored; the token does not outlive its statement.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from './client.js';
import { migrate } from './migrations.js';
import { insertDeduplicationToken, insertTsv, type InsertOrigin } from './insert.js';
import { loadConfig } from '../config.js';
import { utcDaysAgo } from '../testing.js';

const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-dedup-')) });
const client = await createClickHouse(config.clickhouse);
after(() => client.close());
const db = 'dedup';
await migrate(client, { database: db, retention: config.retention });
// Rows stay as inserted: a merge would collapse duplicates and hide a second insert.
await client.command({ query: `SYSTEM STOP MERGES ${db}.readings_hourly` });
await client.command({ query: `SYSTEM STOP MERGES ${db}.readings_raw` });

async function count(table: string, meter: string): Promise<number> {
  const rs = await client.query({
    query: `SELECT count() AS n FROM ${db}.${table} WHERE meter = {meter:String}`,
    query_params: { meter },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json<{ n: number }>())[0].n;
}

const HOURLY = ['tenant', 'meter', 'kind', 'unit', 'hour', 'value_sum', 'value_min', 'value_max', 'samples'];
const hourly = { client, table: `${db}.readings_hourly`, columns: HOURLY, label: 'readings_hourly' };
const hourRow = (meter: string, sum: number) =>
  `t\t${meter}\tWATER\tL\t${utcDaysAgo(2) / 1000}\t${sum}\t0\t${sum}\t4\n`;
const origin: InsertOrigin = { topic: 'clean', partition: 3, firstOffset: 100n, lastOffset: 199n };

test('the token names the input batch, the part and the rows', () => {
  const token = insertDeduplicationToken('a\n', origin);
  assert.match(token, /^clean:3:100-199:0:[0-9a-f]{32}$/);
  assert.notEqual(insertDeduplicationToken('b\n', origin), token);
  assert.notEqual(insertDeduplicationToken('a\n', { ...origin, part: '0.1' }), token);
  assert.notEqual(insertDeduplicationToken('a\n', { ...origin, lastOffset: 200n }), token);
});

test('a retried insert of the same batch stores its rows once; new rows or another batch are stored', async () => {
  await insertTsv(hourly, hourRow('m1', 10), 1, origin);
  await insertTsv(hourly, hourRow('m1', 10), 1, origin);
  assert.equal(await count('readings_hourly', 'm1'), 1);
  // The same batch redelivered with a different result (a recompute saw more readings): stored.
  await insertTsv(hourly, hourRow('m1', 12), 1, origin);
  assert.equal(await count('readings_hourly', 'm1'), 2);
  // Another batch with the same rows: a distinct insert.
  await insertTsv(hourly, hourRow('m1', 12), 1, { ...origin, firstOffset: 200n, lastOffset: 250n });
  assert.equal(await count('readings_hourly', 'm1'), 3);
});

test('the token reaches readings_raw through the inbox view', async () => {
  const columns = ['tenant', 'meter', 'kind', 'unit', 'reading_type', 'interval_seconds', 'zone_id', 'price_area'];
  const inbox = {
    client,
    table: `${db}.readings_raw_inbox`,
    columns: [...columns, 'source_partition', 'ts_ms', 'values', 'quality_ranks', 'source_offsets'],
    label: 'readings_raw',
  };
  const t0 = utcDaysAgo(3);
  const line = `t\tm2\tWATER\tL\tINTERVAL\t900\t\\N\t\\N\t3\t[${t0},${t0 + 900_000},${t0 + 1_800_000}]\t[1,2,3]\t[1,1,1]\t[100,101,102]\n`;
  await insertTsv(inbox, line, 3, origin);
  await insertTsv(inbox, line, 3, origin);
  assert.equal(await count('readings_raw', 'm2'), 3);
});

test("an insert's token ends with it: the next insert without one is not taken for its duplicate", async () => {
  await insertTsv(hourly, hourRow('m3', 5), 1, origin);
  const rs = await client.query({
    query: "SELECT value FROM system.settings WHERE name = 'insert_deduplication_token'",
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [{ value: '' }]);
  await client.insert({
    table: `${db}.readings_hourly`,
    values: [{ tenant: 't', meter: 'm3', kind: 'WATER', unit: 'L', hour: utcDaysAgo(2) / 1000, value_sum: 5 }],
    format: 'JSONEachRow',
  });
  assert.equal(await count('readings_hourly', 'm3'), 2);
});
