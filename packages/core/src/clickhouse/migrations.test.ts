import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from './client.js';
import { currentTtl, migrate, ttlExpressions } from './migrations.js';
import { insertTsv, tsvEscape, tsvMillis, tsvNullable } from './insert.js';
import { loadConfig } from '../config.js';
import { repoPath } from '../paths.js';

// One embedded engine for this file (one per process).
const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-ch-')) });
const client = await createClickHouse(config.clickhouse);
after(() => client.close());

async function engineFull(db: string, table: string): Promise<string> {
  const rs = await client.query({
    query: `SELECT engine_full FROM system.tables WHERE database = '${db}' AND name = '${table}'`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ engine_full: string }>())[0].engine_full;
}

test('migrations create the design tables with the configured TTLs, once', async () => {
  const db = 'mig_a';
  const first = await migrate(client, { database: db, retention: config.retention });
  // Every file of schemas/clickhouse, in order (others add theirs while this test stays true).
  const files = readdirSync(repoPath('schemas', 'clickhouse'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
  assert.ok(files.length >= 5 && files[0] === '001_initial');
  assert.deepEqual(first.applied, files);
  assert.deepEqual(first.ttlChanged, []);
  for (const [table, expr] of Object.entries(ttlExpressions(config.retention))) {
    assert.equal(currentTtl(await engineFull(db, table)), expr, `${table} TTL`);
  }
  const second = await migrate(client, { database: db, retention: config.retention });
  assert.deepEqual(second, { applied: [], ttlChanged: [] });
});

test('a changed retention changes the TTL on the next start, and only that one', async () => {
  const db = 'mig_b';
  await migrate(client, { database: db, retention: config.retention });
  const changed = await migrate(client, { database: db, retention: { ...config.retention, rawDays: 30 } });
  assert.deepEqual(changed.ttlChanged, ['readings_raw']);
  assert.equal(currentTtl(await engineFull(db, 'readings_raw')), 'toDateTime(ts) + toIntervalDay(30)');
  assert.equal(
    currentTtl(await engineFull(db, 'readings_hourly')),
    `hour + toIntervalDay(${config.retention.hourlyDays})`,
  );
});

test('TabSeparated inserts keep awkward strings, NULLs and milliseconds exact', async () => {
  await client.command({ query: 'CREATE DATABASE IF NOT EXISTS tsv' });
  await client.command({
    query:
      "CREATE TABLE tsv.t (s String, n Nullable(String), ts DateTime64(3, 'UTC'), v Float64) ENGINE = MergeTree ORDER BY ts",
  });
  // A table without TTL, and times older than every retention: nothing here expires.
  const rows = [
    { s: "tab\there\nnewline \\ back'slash", n: null, ts: Date.UTC(2001, 0, 1, 0, 0, 0, 7), v: 0.1 + 0.2 },
    { s: 'plain', n: 'x', ts: Date.UTC(2000, 1, 29, 23, 59, 59, 999), v: 1e-7 },
    { s: 'ü €', n: '', ts: Date.UTC(2005, 5, 1), v: 123456789.125 },
  ];
  const body = rows.map((r) => `${tsvEscape(r.s)}\t${tsvNullable(r.n)}\t${tsvMillis(r.ts)}\t${r.v}\n`).join('');
  await insertTsv({ client, table: 'tsv.t', columns: ['s', 'n', 'ts', 'v'], label: 't' }, body, rows.length);
  const rs = await client.query({
    query: 'SELECT s, n, toUnixTimestamp64Milli(ts) AS ts, v FROM tsv.t ORDER BY ts',
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const back = await rs.json<{ s: string; n: string | null; ts: number; v: number }>();
  assert.deepEqual(
    back,
    [...rows].sort((a, b) => a.ts - b.ts),
  );
});
