/**
 * Schema migrations from `schemas/clickhouse/NNN_name.sql`, applied in order and recorded in
 * `schema_migrations`; then every table's TTL is brought in line with the configuration, so a
 * changed retention takes effect on the next start. A file is recorded after its last statement;
 * one that can die half-way with effects a second run must not repeat (a table rebuild) guards
 * its statements (`-- when:`, see {@link MigrationStep}).
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

/**
 * One statement of a migration file and the guards it runs under: `-- when: <SELECT>` lines in
 * its leading comments. The statement runs only when every guard's first value is non-zero,
 * checked in order (a later guard may read a table an earlier one proved there). Guards let a
 * rebuild that died half-way continue from where it stopped: each step runs only in the state
 * it belongs to (see 012_readings_raw_by_reading_type.sql).
 */
export interface MigrationStep {
  sql: string;
  when: string[];
}

const GUARD = /^\s*--\s*when:\s*(.+?)\s*$/gm;
const NEEDED = /^\s*--\s*needed when:\s*(.+?)\s*$/m;

/** Splits a migration file into steps (`;` at a line end), dropping comment-only chunks. */
export function splitSteps(sql: string): MigrationStep[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((chunk) => ({
      sql: chunk.replace(/^\s*--.*$/gm, '').trim(),
      when: [...chunk.matchAll(GUARD)].map((m) => m[1]),
    }))
    .filter((s) => s.sql.length > 0);
}

/** Splits a migration file into statements (`;` at a line end), dropping comment-only chunks. */
export function splitStatements(sql: string): string[] {
  return splitSteps(sql).map((s) => s.sql);
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
  /** The guards of each statement (see {@link MigrationStep}); empty: it always runs. */
  guards: string[][];
  /**
   * The file's `-- needed when: <SELECT>` (tables named `<table>{{local}}`, filled with
   * `_local` on a cluster): when it gives 0 the database already has what the file makes, and
   * the file is recorded without running (a fresh install, or a cluster migrated by hand).
   */
  neededWhen: string | null;
  /**
   * Cluster mode only: the file has guarded steps, which `ON CLUSTER` cannot run safely (a
   * guard sees one node), so it has no statements here and, when needed, stops the start with
   * this message (the procedure by hand is in docs/scaling.md).
   */
  manual: string | null;
}

/**
 * The statements of every migration file, filled with the database and TTLs, in their cluster
 * form when `options.cluster` is set. Pure: reads the files, talks to no ClickHouse.
 */
export function migrationStatements(options: MigrateOptions): MigrationStatements[] {
  const db = options.database;
  const ttl = ttlExpressions(options.retention);
  const local = options.cluster ? LOCAL_SUFFIX : '';
  const fill = (sql: string): string =>
    sql
      .replace(/\{\{db\}\}/g, db)
      .replace(/\{\{local\}\}/g, local)
      .replace(/\{\{ttl:([a-z_]+)\}\}/g, (_, table: string) => {
        const expr = ttl[table];
        if (expr === undefined)
          throw new MeterError('METER_ERR_CLICKHOUSE', `migration names a TTL for unknown table ${table}`);
        return expr;
      });
  const single = loadMigrations(options.dir ?? repoPath('schemas', 'clickhouse')).map((m) => {
    const steps = splitSteps(fill(m.sql));
    return {
      version: m.version,
      name: m.name,
      statements: steps.map((s) => s.sql),
      guards: steps.map((s) => s.when),
      neededWhen: NEEDED.exec(fill(m.sql))?.[1] ?? null,
      manual: null,
    };
  });
  if (!options.cluster) return single;
  const target: ClusterTarget = { cluster: options.cluster, database: db };
  // Every table of every file: a later ALTER or view names tables of earlier migrations.
  const tables = createdTables(single.flatMap((m) => m.statements));
  return single.map((m) =>
    m.guards.some((g) => g.length > 0)
      ? { ...m, statements: [], guards: [], manual: manualMessage(m, db) }
      : { ...m, statements: m.statements.flatMap((s) => clusterStatements(s, target, tables)), guards: [] },
  );
}

function manualMessage(m: { version: number; name: string }, db: string): string {
  return (
    `ClickHouse migration ${m.name} rebuilds a table in guarded steps, which ON CLUSTER cannot run safely ` +
    `(a guard sees one node): apply it by hand as docs/scaling.md ("Migrations by hand on a cluster") ` +
    `describes, then record it with INSERT INTO ${db}.schema_migrations (version, name) VALUES (${m.version}, '${m.name}')`
  );
}

/** Whether a guard holds: its first row's first value is non-zero (no row: it does not). */
async function holds(client: ClickHouseClient, guard: string): Promise<boolean> {
  const rs = await client.query({ query: guard, format: 'JSONCompactEachRow' });
  const rows = await rs.json<unknown[]>();
  return rows.length > 0 && Number(rows[0][0]) !== 0;
}

/** Runs one statement if its guards hold (checked in order, stopping at the first that does not). */
export async function runStep(client: ClickHouseClient, sql: string, guards: readonly string[]): Promise<boolean> {
  for (const g of guards) if (!(await holds(client, g))) return false;
  await client.command({ query: sql });
  return true;
}

/** Creates the database and tables, applies pending migrations and the configured TTLs. */
export async function migrate(client: ClickHouseClient, options: MigrateOptions): Promise<MigrateResult> {
  const db = options.database;
  const cluster = options.cluster ?? null;
  const onCluster = cluster === null ? '' : ` ON CLUSTER ${cluster}`;
  // Built before anything runs: a statement without a cluster form fails here, not half-way. A
  // guarded file on a cluster (a rebuild) stops the start when its turn comes, if it is needed.
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
    if (m.neededWhen === null || (await holds(client, m.neededWhen))) {
      if (m.manual !== null) throw new MeterError('METER_ERR_CLICKHOUSE', m.manual);
      for (let i = 0; i < m.statements.length; i++) await runStep(client, m.statements[i], m.guards[i]);
      // Recorded only once the database holds what the file makes. Two processes that start
      // together can both run a guarded file and undo each other's step (a second EXCHANGE):
      // then this start fails, nothing is recorded, and the next start continues the file.
      if (m.neededWhen !== null && (await holds(client, m.neededWhen)))
        throw new MeterError(
          'METER_ERR_CLICKHOUSE',
          `ClickHouse migration ${m.name} did not complete (another process may be running it); start again to continue it`,
          { retriable: true },
        );
    }
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
