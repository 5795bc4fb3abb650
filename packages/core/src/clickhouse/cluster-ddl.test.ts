/**
 * The cluster DDL (CLICKHOUSE_CLUSTER) of every migration file present, checked without a
 * cluster: the embedded engine's parser formats each statement (it parses), and the formatted
 * single-node and cluster tables are compared clause by clause (columns, PARTITION BY, ORDER BY,
 * TTL, SETTINGS identical; Replicated engines; Distributed tables sharded by the pseudonym).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from './client.js';
import { clusterStatements, createdTables } from './cluster-ddl.js';
import { migrationStatements } from './migrations.js';
import { loadConfig } from '../config.js';

const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-ddl-')) });
const client = await createClickHouse(config.clickhouse);
after(() => client.close());

const CLUSTER = 'test_cluster';
const DB = 'meterstream';
const options = { database: DB, retention: config.retention };
const single = migrationStatements(options);
const cluster = migrationStatements({ ...options, cluster: CLUSTER });

/** The engine's own formatting of a statement: it throws when the statement does not parse. */
async function format(sql: string): Promise<string> {
  const rs = await client.query({
    query: 'SELECT formatQuery({sql:String}) AS f',
    query_params: { sql },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ f: string }>())[0].f;
}

async function ast(sql: string): Promise<string> {
  // exec, not query: a FORMAT clause after EXPLAIN AST would be parsed into the tree.
  const { stream } = await client.exec({
    query: `EXPLAIN AST ${sql}`,
    clickhouse_settings: { default_format: 'TabSeparatedRaw' },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** A formatted CREATE TABLE, cut into its parts. */
interface FormattedTable {
  name: string;
  onCluster: string | null;
  columns: string;
  engine: string;
  /** Clause keyword (PARTITION BY, ORDER BY, TTL, SETTINGS, ...) → its text. */
  clauses: Map<string, string>;
}

function cut(formatted: string): FormattedTable {
  const head = /^CREATE TABLE (?:IF NOT EXISTS )?(\S+?)(?: ON CLUSTER (\S+))?(?:\n| AS )/.exec(formatted);
  assert.ok(head, `not a CREATE TABLE: ${formatted}`);
  const engineAt = formatted.indexOf('\nENGINE = ');
  const lines = formatted.slice(engineAt + 1).split('\n');
  const clauses = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^(PARTITION BY|PRIMARY KEY|ORDER BY|SAMPLE BY|TTL|SETTINGS) (.*)$/.exec(line);
    assert.ok(m, `unexpected line after ENGINE: ${line}`);
    clauses.set(m[1], m[2]);
  }
  return {
    name: head[1],
    onCluster: head[2] ?? null,
    columns: formatted.slice(formatted.indexOf('\n('), engineAt),
    engine: lines[0].slice('ENGINE = '.length),
    clauses,
  };
}

async function formattedTables(statements: string[]): Promise<Map<string, FormattedTable>> {
  const tables = new Map<string, FormattedTable>();
  for (const s of statements) {
    const f = await format(s);
    if (f.startsWith('CREATE TABLE')) tables.set(cut(f).name, cut(f));
  }
  return tables;
}

// A guarded rebuild has no cluster form (it is applied by hand, docs/scaling.md): its work
// tables are not compared.
const singleStatements = single.filter((_, i) => cluster[i].manual === null).flatMap((m) => m.statements);
const clusterAll = cluster.flatMap((m) => m.statements);

test('the cluster DDL covers every migration file, and every statement parses and runs ON CLUSTER', async () => {
  assert.deepEqual(
    cluster.map((m) => m.name),
    single.map((m) => m.name),
  );
  assert.ok(single.length >= 2);
  for (const s of clusterAll) {
    const f = await format(s);
    assert.match(f.split('\n')[0], new RegExp(` ON CLUSTER ${CLUSTER}\\b`), f);
  }
});

test('every table becomes a Replicated local table with the same columns, keys, TTL and settings', async () => {
  const mine = await formattedTables(singleStatements);
  const theirs = await formattedTables(clusterAll);
  assert.ok(mine.size >= 6);
  for (const [name, table] of mine) {
    const short = name.slice(DB.length + 1);
    const local = theirs.get(`${name}_local`);
    assert.ok(local, `${name}_local is created`);
    assert.equal(local.onCluster, CLUSTER);
    assert.equal(local.columns, table.columns, `${name}: columns`);
    assert.deepEqual([...local.clauses], [...table.clauses], `${name}: PARTITION BY, ORDER BY, TTL, SETTINGS`);
    const engine = /^`?(\w+?)`?(?:\((.*)\))?$/.exec(table.engine)!;
    if (engine[1] === 'Null') {
      assert.equal(local.engine, table.engine);
      continue;
    }
    const args = [`'/clickhouse/tables/{shard}/{database}/${short}'`, `'{replica}'`, ...(engine[2] ? [engine[2]] : [])];
    assert.equal(local.engine, `Replicated${engine[1]}(${args.join(', ')})`, `${name}: engine`);
  }
});

test('every Distributed table is sharded by the pseudonym of its series', async () => {
  const mine = await formattedTables(singleStatements);
  const theirs = await formattedTables(clusterAll);
  const keys = new Map<string, string>();
  for (const [name, table] of mine) {
    const short = name.slice(DB.length + 1);
    const dist = theirs.get(name);
    assert.ok(dist, `${name} is created as a Distributed table`);
    const column = /`meter` /.test(table.columns) ? 'meter' : /`pseudonym` /.test(table.columns) ? 'pseudonym' : null;
    if (column === null) {
      // No series in it (spot prices, silences): sharded by its ORDER BY key, whose rows FINAL collapses.
      assert.ok(table.clauses.has('ORDER BY'), `${name}: no pseudonym column, so an ORDER BY key to shard by`);
      assert.match(dist.engine, new RegExp(`^Distributed\\(${CLUSTER}, ${DB}, ${short}_local, cityHash64\\(`));
      continue;
    }
    assert.match(table.columns, new RegExp(`\`${column}\` String`), `${name} has its ${column} column`);
    assert.equal(dist.engine, `Distributed(${CLUSTER}, ${DB}, ${short}_local, cityHash64(${column}))`);
    // The parser sees the sharding key as cityHash64 of that one column.
    const tree = await ast(clusterAll.find((s) => s.includes(`AS ${name}_local`))!);
    assert.match(
      tree,
      new RegExp(
        `Function cityHash64 \\(children 1\\)\\n\\s+ExpressionList \\(children 1\\)\\n\\s+Identifier ${column}\\n`,
      ),
    );
    keys.set(short, column);
  }
  assert.equal(keys.get('readings_raw'), 'meter');
  assert.equal(keys.get('readings_hourly'), 'meter');
  assert.equal(keys.get('erasure_audit'), 'pseudonym');
});

test('materialized views run on every shard from and to the local tables, with the same query', async () => {
  const views = singleStatements.filter((s) => /^CREATE MATERIALIZED VIEW/i.test(s));
  assert.ok(views.length >= 1);
  const tables = createdTables(singleStatements);
  for (const view of views) {
    const name = /VIEW (?:IF NOT EXISTS )?(\S+)/.exec(view)![1];
    const mine = await format(view);
    const theirs = await format(clusterAll.find((s) => s.includes(`VIEW IF NOT EXISTS ${name} `))!);
    const tree = await ast(clusterAll.find((s) => s.includes(`VIEW IF NOT EXISTS ${name} `))!);
    // Every table the cluster view names is a shard-local one.
    const named = [...tree.matchAll(/TableIdentifier (\S+)/g)].map((m) => m[1]);
    assert.ok(named.length >= 1);
    for (const t of named) assert.ok(t.endsWith('_local') && tables.has(t.slice(DB.length + 1, -6)), t);
    assert.match(theirs, / TO meterstream\.\w+_local\n/);
    // Apart from ON CLUSTER and the local names, the same statement.
    assert.equal(theirs.replace(` ON CLUSTER ${CLUSTER}`, '').replace(/_local\b/g, ''), mine);
  }
});

test('column alters reach the local and the Distributed table; other alters only the local one', async () => {
  const tables = new Set(['t']);
  const target = { cluster: CLUSTER, database: 'd' };
  assert.deepEqual(clusterStatements('ALTER TABLE d.t ADD COLUMN x UInt8, DROP COLUMN y', target, tables), [
    `ALTER TABLE d.t_local ON CLUSTER ${CLUSTER} ADD COLUMN x UInt8, DROP COLUMN y`,
    `ALTER TABLE d.t ON CLUSTER ${CLUSTER} ADD COLUMN x UInt8, DROP COLUMN y`,
  ]);
  assert.deepEqual(
    clusterStatements('ALTER TABLE d.t MODIFY SETTING non_replicated_deduplication_window = 1000', target, tables),
    [`ALTER TABLE d.t_local ON CLUSTER ${CLUSTER} MODIFY SETTING non_replicated_deduplication_window = 1000`],
  );
  for (const s of clusterAll.filter((x) => x.startsWith('ALTER'))) await format(s);
  // A statement without a cluster form is refused, not guessed.
  assert.throws(() => clusterStatements('DROP TABLE d.t', target, tables), /no cluster form/);
  assert.throws(
    () => clusterStatements('CREATE TABLE d.k (a String) ENGINE = Kafka()', target, tables),
    /no cluster form for engine Kafka/,
  );
});
