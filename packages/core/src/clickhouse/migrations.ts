/**
 * Schema migrations from `schemas/clickhouse/NNN_name.sql`, applied in order and recorded in
 * `schema_migrations`; then every table's TTL is brought in line with the configuration, so a
 * changed retention takes effect on the next start.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RetentionConfig } from '../config.js';
import { MeterError } from '../errors.js';
import { repoPath } from '../paths.js';
import {
  clusterMigrationsTable,
  clusterStatements,
  createdTables,
  LOCAL_SUFFIX,
  type ClusterTarget,
} from './cluster-ddl.js';

/** 2100-01-01 UTC (epoch seconds): the expiry of what is kept while it lasts (a firing episode). */
const KEEP = 4102444800;

/** The tables meterstream owns, each with the TTL expression its retention gives. */
export function ttlExpressions(retention: RetentionConfig): Record<string, string> {
  // Written the way ClickHouse prints them back (system.tables.engine_full), so a start
  // with unchanged configuration finds them equal and alters nothing.
  return {
    readings_raw: `toDateTime(ts) + toIntervalDay(${retention.rawDays})`,
    readings_hourly: `hour + toIntervalDay(${retention.hourlyDays})`,
    // Prices are kept as long as the hourly rows they price (an invoice is re-checked on late data).
    spot_prices: `hour + toIntervalDay(${retention.hourlyDays})`,
    // Counted from an episode's end; a firing episode (no end yet) is kept, and with it the
    // memory that it was published (2100-01-01 stands for never).
    alerts: `if(isNull(ends_at), toDateTime(${KEEP}), toDateTime(assumeNotNull(ends_at)) + toIntervalDay(${retention.alertsDays}))`,
    // Bookkeeping law counts from the end of the fiscal year (calendar year here).
    invoice_checks: `toStartOfYear(toDateTime(period_end)) + toIntervalYear(${retention.invoiceChecksYears + 1})`,
    // Detector state lives as long as the alerts it decides about: a state holding a firing
    // episode (`"firing":{` or a non-empty `"open":{` in its JSON) is kept while it fires.
    anomaly_state: `if((position(state, '"firing":{') > 0) OR (position(state, '"open":{"') > 0), toDateTime(${KEEP}), toDateTime(updated_at) + toIntervalDay(${retention.alertsDays}))`,
    erasure_audit: `toDateTime(erased_at) + toIntervalDay(${retention.auditDays})`,
    export_audit: `toDateTime(exported_at) + toIntervalDay(${retention.auditDays})`,
    // A block outlives every input that could bring the meter back: readings older than the raw
    // retention are refused anyway, invoices are kept as long as the audit.
    meter_blocks: `toDateTime(at) + toIntervalDay(${retention.auditDays})`,
    // The notifier's tables live as long as the alerts they are about; the silence audit as
    // long as the erasure audit.
    alert_deliveries: `toDateTime(starts_at) + toIntervalDay(${retention.alertsDays})`,
    alert_holds: `toDateTime(held_at) + toIntervalDay(${retention.alertsDays})`,
    alert_acks: `toDateTime(starts_at) + toIntervalDay(${retention.alertsDays})`,
    alert_silences: `toDateTime(ends_at) + toIntervalDay(${retention.alertsDays})`,
    alert_silence_audit: `toDateTime(at) + toIntervalDay(${retention.auditDays})`,
  };
}

interface Migration {
  version: number;
  name: string;
  sql: string;
}

function loadMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.replace(/\.sql$/, ''),
      sql: readFileSync(join(dir, f), 'utf8'),
    }));
}

/** Splits a migration file into statements (`;` at a line end), dropping comment-only chunks. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  database: string;
  retention: RetentionConfig;
  /**
   * Cluster name (`CLICKHOUSE_CLUSTER`): statements run `ON CLUSTER`, tables are Replicated
   * `<table>_local` behind Distributed `<table>` (see cluster-ddl.ts); `null`/unset: one node.
   */
  cluster?: string | null;
  /** Directory of the `.sql` files; defaults to the repository's `schemas/clickhouse`. */
  dir?: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  applied: string[];
  ttlChanged: string[];
}

/** One migration file as the statements that {@link migrate} runs for it. */
export interface MigrationStatements {
  version: number;
  name: string;
  statements: string[];
}

/**
 * The statements of every migration file, filled with the database and TTLs, in their cluster
 * form when `options.cluster` is set. Pure: reads the files, talks to no ClickHouse.
 */
export function migrationStatements(options: MigrateOptions): MigrationStatements[] {
  const db = options.database;
  const ttl = ttlExpressions(options.retention);
  const fill = (sql: string): string =>
    sql.replace(/\{\{db\}\}/g, db).replace(/\{\{ttl:([a-z_]+)\}\}/g, (_, table: string) => {
      const expr = ttl[table];
      if (expr === undefined)
        throw new MeterError('METER_ERR_CLICKHOUSE', `migration names a TTL for unknown table ${table}`);
      return expr;
    });
  const single = loadMigrations(options.dir ?? repoPath('schemas', 'clickhouse')).map((m) => ({
    version: m.version,
    name: m.name,
    statements: splitStatements(fill(m.sql)),
  }));
  if (!options.cluster) return single;
  const target: ClusterTarget = { cluster: options.cluster, database: db };
  // Every table of every file: a later ALTER or view names tables of earlier migrations.
  const tables = createdTables(single.flatMap((m) => m.statements));
  return single.map((m) => ({ ...m, statements: m.statements.flatMap((s) => clusterStatements(s, target, tables)) }));
}

/** Creates the database and tables, applies pending migrations and the configured TTLs. */
export async function migrate(client: ClickHouseClient, options: MigrateOptions): Promise<MigrateResult> {
  const db = options.database;
  const cluster = options.cluster ?? null;
  const onCluster = cluster === null ? '' : ` ON CLUSTER ${cluster}`;
  // Built before anything runs: a migration without a cluster form fails here, not half-way.
  const migrations = migrationStatements(options);

  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}${onCluster}` });
  await client.command({
    query:
      cluster === null
        ? `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations
            (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = MergeTree ORDER BY version`
        : clusterMigrationsTable({ cluster, database: db }),
  });
  const done = new Set(
    (
      await (
        await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' })
      ).json<{ version: number }>()
    ).map((r) => Number(r.version)),
  );
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    applied.push(m.name);
  }

  const ttlChanged: string[] = [];
  const rows = await (
    await client.query({
      query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String}`,
      query_params: { db },
      format: 'JSONEachRow',
    })
  ).json<{ name: string; engine_full: string }>();
  const engines = new Map(rows.map((r) => [r.name, r.engine_full]));
  // On a cluster the TTL lives on the shard-local tables.
  const suffix = cluster === null ? '' : LOCAL_SUFFIX;
  for (const [table, expr] of Object.entries(ttlExpressions(options.retention))) {
    const engine = engines.get(table + suffix);
    if (engine === undefined) continue;
    if (currentTtl(engine) === expr) continue;
    await client.command({ query: `ALTER TABLE ${db}.${table}${suffix}${onCluster} MODIFY TTL ${expr}` });
    ttlChanged.push(table);
  }
  return { applied, ttlChanged };
}

/** The TTL clause of a table's `engine_full`, as ClickHouse prints it. */
export function currentTtl(engineFull: string): string | null {
  const m = /\bTTL (.*?)(?: SETTINGS |$)/.exec(engineFull);
  return m ? m[1].trim() : null;
}
