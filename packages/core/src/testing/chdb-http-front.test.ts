/**
 * The HTTP front of the embedded engine (test support) speaks enough of ClickHouse's HTTP
 * interface for the product's own client over CLICKHOUSE_URL: migrations, TabSeparated inserts
 * with deduplication tokens, parameters, formats, settings per request, gzip, errors with codes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChdbHttpFront } from './chdb-http-front.js';
import { createClickHouse } from '../clickhouse/client.js';
import { insertTsv } from '../clickhouse/insert.js';
import { migrate } from '../clickhouse/migrations.js';
import { loadConfig } from '../config.js';
import { utcDaysAgo } from '../testing.js';

const front = await spawnChdbHttpFront(mkdtempSync(join(tmpdir(), 'meterstream-front-')));
const config = loadConfig({ CLICKHOUSE_URL: front.url });
const client = await createClickHouse(config.clickhouse);
after(async () => {
  await client.close();
  await front.close();
});
const db = 'front';

test('ping, migrations and a second migrate that finds everything done', async () => {
  assert.deepEqual(await client.ping(), { success: true });
  const res = await fetch(`${front.url}/ping`);
  assert.equal(await res.text(), 'Ok.\n');
  const first = await migrate(client, { database: db, retention: config.retention });
  assert.ok(first.applied.length >= 5);
  assert.deepEqual(await migrate(client, { database: db, retention: config.retention }), {
    applied: [],
    ttlChanged: [],
  });
});

test('inserts (gzip bodies) and queries with parameters, FINAL and JSON answers', async () => {
  const hour = utcDaysAgo(1) / 1000;
  const options = {
    client,
    table: `${db}.readings_hourly`,
    columns: ['tenant', 'meter', 'kind', 'unit', 'hour', 'value_sum', 'samples', 'version'],
    label: 'readings_hourly',
  };
  const origin = { topic: 'clean', partition: 0, firstOffset: 1, lastOffset: 2 };
  await insertTsv(options, `t\tm\u00e9\tWATER\tL\t${hour}\t1.5\t4\t1\n`, 1, origin);
  await insertTsv(options, `t\tm\u00e9\tWATER\tL\t${hour}\t2.5\t4\t2\n`, 1, { ...origin, lastOffset: 3 });
  const rs = await client.query({
    query: `SELECT meter, value_sum, samples, version FROM {db:Identifier}.readings_hourly FINAL WHERE meter = {m:String}`,
    query_params: { db, m: 'm\u00e9' },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  assert.deepEqual(await rs.json(), [{ meter: 'm\u00e9', value_sum: 2.5, samples: 4, version: 2 }]);
});

test('a retried insert with the same token is stored once over HTTP', async () => {
  await client.command({ query: `SYSTEM STOP MERGES ${db}.alerts` });
  const options = {
    client,
    table: `${db}.alerts`,
    columns: ['alert_id', 'meter', 'type', 'status', 'version'],
    label: 'alerts',
  };
  const origin = { topic: 'hourly', partition: 1, firstOffset: 5, lastOffset: 9 };
  for (let i = 0; i < 2; i++) await insertTsv(options, `a1\tm1\tBURST\tFIRING\t1\n`, 1, origin);
  const rs = await client.query({ query: `SELECT count() AS n FROM ${db}.alerts`, format: 'JSONEachRow' });
  assert.equal(Number((await rs.json<{ n: string }>())[0].n), 1);
});

test('settings last for one request', async () => {
  const iso = await client.query({
    query: `SELECT toDateTime(0, 'UTC') AS t`,
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_output_format: 'iso' },
  });
  assert.deepEqual(await iso.json(), [{ t: '1970-01-01T00:00:00Z' }]);
  const plain = await client.query({ query: `SELECT toDateTime(0, 'UTC') AS t`, format: 'JSONEachRow' });
  assert.deepEqual(await plain.json(), [{ t: '1970-01-01 00:00:00' }]);
});

test('errors carry the ClickHouse code and text', async () => {
  await assert.rejects(client.query({ query: `SELECT * FROM ${db}.nope`, format: 'JSONEachRow' }), (err: Error) => {
    assert.equal((err as { code?: string }).code, '60');
    assert.match(err.message, /nope/);
    return true;
  });
  const res = await fetch(`${front.url}/?query=${encodeURIComponent('SELEC 1')}`);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-clickhouse-exception-code'), '62');
  assert.match(await res.text(), /^Code: 62\. DB::Exception: /);
});
