/**
 * The cluster form of the migrations (`CLICKHOUSE_CLUSTER`), derived from the single-node DDL in
 * `schemas/clickhouse/*.sql` by one generic transform, so a migration is written once:
 *
 * - `CREATE TABLE t … ENGINE = XMergeTree(args)` becomes `t_local ON CLUSTER` with
 *   `ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/t', '{replica}', args)` and the
 *   same columns, PARTITION BY, ORDER BY, TTL and SETTINGS; plus `t ON CLUSTER AS t_local ENGINE =
 *   Distributed(cluster, db, t_local, cityHash64(meter))`. The sharding key is the series'
 *   pseudonym (`meter`, or `pseudonym` in `erasure_audit`), so every version of a row meets the
 *   others on one shard and FINAL, which merges per shard, is exact. A table without either
 *   column is sharded by its ORDER BY key: the rows FINAL collapses still meet.
 * - A `Null` table becomes a `Null` local table on every shard behind a Distributed table of the
 *   same sharding key (the ingestor's inbox: see docs/scaling.md).
 * - A materialized view is created on every shard, reading and writing the local tables.
 * - `ALTER TABLE … ADD/DROP/MODIFY/RENAME/COMMENT COLUMN` alters the local and the Distributed
 *   table; any other ALTER (TTL, SETTING, index) alters the local table only.
 * - Anything else is refused by name: a new kind of statement needs a decision, not a guess.
 */
import { MeterError } from '../errors.js';

/** Where the cluster DDL goes. */
export interface ClusterTarget {
  /** Cluster name of `remote_servers`. */
  cluster: string;
  /** Database of the tables (already filled into the statements). */
  database: string;
}

/** Suffix of the shard-local table behind each Distributed table. */
export const LOCAL_SUFFIX = '_local';

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const CREATE_TABLE = new RegExp(
  `^CREATE\\s+TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\.(${IDENT})\\s*(\\([\\s\\S]*\\))\\s*ENGINE\\s*=\\s*(${IDENT})(?:\\(([^()]*)\\))?([\\s\\S]*)$`,
  'i',
);
const CREATE_MV = new RegExp(
  `^CREATE\\s+MATERIALIZED\\s+VIEW\\s+(IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\.(${IDENT})\\s+TO\\s+([\\s\\S]*)$`,
  'i',
);
const ALTER_TABLE = new RegExp(`^ALTER\\s+TABLE\\s+(${IDENT})\\.(${IDENT})\\s+([\\s\\S]*)$`, 'i');
const COLUMN_ACTION = /^\s*(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b/i;

/** The names of the tables that `CREATE TABLE` statements create (those get a `_local` twin). */
export function createdTables(statements: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const s of statements) {
    const m = CREATE_TABLE.exec(s.trim());
    if (m) names.add(m[3]);
  }
  return names;
}

/** The sharding key of a table: its pseudonym column, else its ORDER BY key. */
export function shardingKey(table: string, columns: string, rest: string): string {
  for (const column of ['meter', 'pseudonym']) {
    if (new RegExp(`(^|[(,])\\s*\`?${column}\`?\\s+`, 'm').test(columns)) return `cityHash64(${column})`;
  }
  const order = /\bORDER\s+BY\s+(\([^()]*\)|\S+)/i.exec(rest);
  if (order) return `cityHash64(${order[1].startsWith('(') ? order[1].slice(1, -1) : order[1]})`;
  throw new MeterError(
    'METER_ERR_CLICKHOUSE',
    `cluster DDL: table ${table} has no meter/pseudonym column nor ORDER BY`,
  );
}

/** Splits a comma list at the top level (not inside parentheses or quotes). */
function topLevelSplit(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function onCluster(target: ClusterTarget): string {
  return `ON CLUSTER ${target.cluster}`;
}

function createTable(m: RegExpExecArray, target: ClusterTarget): string[] {
  const [, ine = '', db, table, columns, engine, args, rest] = m;
  const local = `${db}.${table}${LOCAL_SUFFIX}`;
  let localEngine: string;
  if (/^Replicated/i.test(engine)) {
    throw new MeterError('METER_ERR_CLICKHOUSE', `cluster DDL: ${table} is already Replicated; write single-node DDL`);
  } else if (/MergeTree$/.test(engine)) {
    const path = `'/clickhouse/tables/{shard}/{database}/${table}'`;
    localEngine = `Replicated${engine}(${[path, "'{replica}'", ...(args ? topLevelSplit(args) : [])].join(', ')})`;
  } else if (engine === 'Null') {
    localEngine = 'Null';
  } else {
    throw new MeterError('METER_ERR_CLICKHOUSE', `cluster DDL: no cluster form for engine ${engine} (${table})`);
  }
  const key = shardingKey(table, columns, rest);
  return [
    `CREATE TABLE ${ine}${local} ${onCluster(target)}\n${columns}\nENGINE = ${localEngine}${rest}`,
    `CREATE TABLE ${ine}${db}.${table} ${onCluster(target)} AS ${local}\n` +
      `ENGINE = Distributed(${target.cluster}, ${db}, ${table}${LOCAL_SUFFIX}, ${key})`,
  ];
}

/** Points every `db.t` of a created table at `db.t_local`. */
function toLocalNames(sql: string, target: ClusterTarget, tables: ReadonlySet<string>): string {
  return sql.replace(new RegExp(`\\b${target.database}\\.(${IDENT})\\b`, 'g'), (whole, name: string) =>
    tables.has(name) ? `${target.database}.${name}${LOCAL_SUFFIX}` : whole,
  );
}

/**
 * The cluster statements of one filled single-node statement. `tables` holds every table the
 * migrations create (see {@link createdTables}), including those of earlier migrations.
 */
export function clusterStatements(statement: string, target: ClusterTarget, tables: ReadonlySet<string>): string[] {
  const sql = statement.trim();
  const table = CREATE_TABLE.exec(sql);
  if (table) return createTable(table, target);
  const mv = CREATE_MV.exec(sql);
  if (mv) {
    const [, ine = '', db, view, body] = mv;
    return [
      `CREATE MATERIALIZED VIEW ${ine}${db}.${view} ${onCluster(target)} TO ${toLocalNames(body, target, tables)}`,
    ];
  }
  const alter = ALTER_TABLE.exec(sql);
  if (alter) {
    const [, db, name, actions] = alter;
    if (!tables.has(name)) throw new MeterError('METER_ERR_CLICKHOUSE', `cluster DDL: ALTER of unknown table ${name}`);
    const local = `ALTER TABLE ${db}.${name}${LOCAL_SUFFIX} ${onCluster(target)} ${actions}`;
    const columnActions = topLevelSplit(actions).map((a) => COLUMN_ACTION.test(a));
    if (columnActions.every((c) => !c)) return [local];
    if (columnActions.every((c) => c)) return [local, `ALTER TABLE ${db}.${name} ${onCluster(target)} ${actions}`];
    throw new MeterError('METER_ERR_CLICKHOUSE', `cluster DDL: split column and table alters of ${name}`);
  }
  throw new MeterError('METER_ERR_CLICKHOUSE', `cluster DDL: no cluster form for: ${sql.slice(0, 80)}`);
}

/** The cluster form of `migrate`'s bookkeeping table: one replica set over every node of the cluster. */
export function clusterMigrationsTable(target: ClusterTarget): string {
  return `CREATE TABLE IF NOT EXISTS ${target.database}.schema_migrations ${onCluster(target)}
          (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
          ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{shard}_{replica}')
          ORDER BY version`;
}
