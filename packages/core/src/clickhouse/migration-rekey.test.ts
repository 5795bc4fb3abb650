/**
 * Migration 012 on a database made before it: readings_raw keyed by (tenant, meter, kind, ts) is
 * rebuilt under (tenant, meter, kind, reading_type, ts) with every row, the ingestors' views
 * write to the new table, and a run that died half-way (or wrote to the old table during the
 * copy) is continued by the next start. A fresh install records the file without running it;
 * on a cluster the file stops the start with the procedure by hand.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from './client.js';
import { migrate, migrationStatements, runStep } from './migrations.js';
import { loadConfig } from '../config.js';
import { repoPath } from '../paths.js';
import { utcDaysAgo } from '../testing.js';

const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-rekey-')) });
const client = await createClickHouse(config.clickhouse);
after(() => client.close());

const SCHEMAS = repoPath('schemas', 'clickhouse');
const REKEY = '012_readings_raw_by_reading_type';
const OLD_KEY = 'tenant, meter, kind, ts';
const NEW_KEY = 'tenant, meter, kind, reading_type, ts';

/** The migrations as they were before 012: 001 with the old key, and no 012. */
function oldMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-old-migrations-'));
  for (const f of readdirSync(SCHEMAS).filter((f) => f.endsWith('.sql') && f < REKEY)) {
    if (f.startsWith('001_')) {
      const sql = readFileSync(join(SCHEMAS, f), 'utf8');
      const old = sql.replace(`ORDER BY (${NEW_KEY})`, `ORDER BY (${OLD_KEY})`);
      assert.notEqual(old, sql, '001 orders readings_raw by the new key');
      writeFileSync(join(dir, f), old);
    } else copyFileSync(join(SCHEMAS, f), join(dir, f));
  }
  return dir;
}

const day = utcDaysAgo(5); // inside readings_raw's retention whatever today is
const HOUR = 3_600_000;

/** Readings of one meter through the ingestor's inbox (as a running ingestor writes them). */
async function write(db: string, meter: string, type: 'INTERVAL' | 'REGISTER', hours: number[], value: number) {
  const n = hours.length;
  const arr = (xs: (string | number)[]) => `[${xs.join(',')}]`;
  await client.command({
    query: `INSERT INTO ${db}.readings_raw_inbox_v2 VALUES ('t1', '${meter}', 'WATER', 'L', '${type}',
      ${type === 'INTERVAL' ? 3600 : 0}, 'Z1', NULL, 0, ${arr(hours.map((h) => day + h * HOUR))},
      ${arr(hours.map((h) => value + h))}, ${arr(hours.map(() => 1))}, ${arr(hours.map((_, i) => i))},
      ${arr(hours.map((_, i) => 1000 + i))}, NULL)`,
  });
}

async function rows(db: string): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT meter, reading_type, toUnixTimestamp64Milli(ts) AS ts, value FROM ${db}.readings_raw FINAL
            ORDER BY meter, reading_type, ts`,
    format: 'JSONCompactEachRow',
  });
  return (await rs.json<unknown[]>()).map((r) => JSON.stringify(r));
}

async function tables(db: string): Promise<Map<string, string>> {
  const rs = await client.query({
    query: `SELECT name, sorting_key FROM system.tables WHERE database = {db:String} AND name LIKE 'readings_raw%'`,
    query_params: { db },
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ name: string; sorting_key: string }>()).map((t) => [t.name, t.sorting_key]));
}

test('an old readings_raw is rebuilt under the new key with every row, and its views write to it', async () => {
  const db = 'rekey_a';
  await migrate(client, { database: db, retention: config.retention, dir: oldMigrations() });
  assert.equal((await tables(db)).get('readings_raw'), OLD_KEY);
  await write(db, 'm1', 'INTERVAL', [0, 1, 2, 3], 10);
  await write(db, 'm2', 'REGISTER', [0, 1, 2], 500);
  const before = await rows(db);
  assert.equal(before.length, 7);

  const result = await migrate(client, { database: db, retention: config.retention });
  assert.deepEqual(result.applied, [REKEY]);
  const after = await tables(db);
  assert.equal(after.get('readings_raw'), NEW_KEY);
  assert.ok(!after.has('readings_raw_rekeyed') && !after.has('readings_raw_rekey_mark'), 'the work tables are gone');
  assert.deepEqual(await rows(db), before, 'every row survives the rebuild');

  // A register index and an interval volume stamped at the same time are two readings now.
  await write(db, 'm1', 'REGISTER', [1, 2], 9000);
  const both = await rows(db);
  assert.equal(both.length, 9, 'the inbox view writes to the new table, and both types are kept');
  assert.ok(both.includes(JSON.stringify(['m1', 'INTERVAL', day + HOUR, 11])));
  assert.ok(both.includes(JSON.stringify(['m1', 'REGISTER', day + HOUR, 9001])));
  assert.deepEqual(await migrate(client, { database: db, retention: config.retention }), {
    applied: [],
    ttlChanged: [],
  });
});

test('a rebuild that died after the copy continues on the next start, keeping what was written meanwhile', async () => {
  const db = 'rekey_b';
  await migrate(client, { database: db, retention: config.retention, dir: oldMigrations() });
  await write(db, 'm1', 'INTERVAL', [0, 1, 2], 10);
  // The file's steps up to and including the copy, as a start that died before the swap ran them.
  const file = migrationStatements({ database: db, retention: config.retention }).find((m) => m.name === REKEY)!;
  const swap = file.statements.findIndex((s) => s.startsWith('EXCHANGE'));
  assert.ok(swap > 0);
  for (let i = 0; i < swap; i++) await runStep(client, file.statements[i], file.guards[i]);
  // An ingestor of the old release goes on writing to the old table, then the process dies.
  await write(db, 'm3', 'INTERVAL', [5, 6], 70);
  assert.ok((await tables(db)).has('readings_raw_rekeyed'), 'the copy target is there');

  const result = await migrate(client, { database: db, retention: config.retention });
  assert.deepEqual(result.applied, [REKEY]);
  assert.equal((await tables(db)).get('readings_raw'), NEW_KEY);
  const now = await rows(db);
  assert.equal(now.length, 5, 'the first copy and the rows written during it, once each');
  assert.ok(now.includes(JSON.stringify(['m3', 'INTERVAL', day + 6 * HOUR, 76])));
});

test('a rebuild that died after the swap finishes without running the copy again', async () => {
  const db = 'rekey_c';
  await migrate(client, { database: db, retention: config.retention, dir: oldMigrations() });
  await write(db, 'm1', 'INTERVAL', [0, 1], 10);
  const file = migrationStatements({ database: db, retention: config.retention }).find((m) => m.name === REKEY)!;
  const swap = file.statements.findIndex((s) => s.startsWith('EXCHANGE'));
  for (let i = 0; i <= swap; i++) await runStep(client, file.statements[i], file.guards[i]);
  assert.equal((await tables(db)).get('readings_raw_rekeyed'), OLD_KEY, 'the old table under the work name');
  // Rerunning the steps before the swap in this state does nothing: their guards see the new key.
  for (let i = 0; i < swap; i++) assert.equal(await runStep(client, file.statements[i], file.guards[i]), false);

  await migrate(client, { database: db, retention: config.retention });
  const t = await tables(db);
  assert.equal(t.get('readings_raw'), NEW_KEY);
  assert.ok(!t.has('readings_raw_rekeyed'));
  assert.equal((await rows(db)).length, 2);
});

test('a fresh install records the rebuild without running it; on a cluster only an old table stops the start', async () => {
  const db = 'rekey_fresh';
  const first = await migrate(client, { database: db, retention: config.retention });
  assert.ok(first.applied.includes(REKEY));
  assert.equal((await tables(db)).get('readings_raw'), NEW_KEY);

  const clustered = migrationStatements({ database: db, retention: config.retention, cluster: 'c1' });
  const rekey = clustered.find((m) => m.name === REKEY)!;
  assert.deepEqual(rekey.statements, [], 'no ON CLUSTER form of a guarded rebuild');
  assert.match(rekey.manual ?? '', /docs\/scaling\.md \("Migrations by hand on a cluster"\)/);
  assert.match(rekey.neededWhen ?? '', /readings_raw_local/);
  const guide = readFileSync(repoPath('docs', 'scaling.md'), 'utf8');
  assert.match(guide, /^### Migrations by hand on a cluster$/m, 'the procedure the message names exists');
  assert.ok(guide.includes(REKEY), 'and names the file');
});
