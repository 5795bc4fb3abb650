/**
 * Everything stored about one meter, for the data subject's rights (portability, erasure).
 * The tables are found in ClickHouse's own catalogue — every table of the database with a
 * `meter` column — so a table that a later migration adds is exported and erased without a
 * change here. Every value from a request travels as a query parameter, table and database
 * names as `Identifier` parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { MeterError } from '../errors.js';
import type { ErasedMeters } from '../erased-meters.js';
import type { ErasureNotifier } from '../erasure-notifier.js';

/** A table that stores rows about meters (it has a `meter` column holding the pseudonym). */
export interface MeterTable {
  name: string;
  engine: string;
  /** Read with FINAL: merges collapse its rows (ReplacingMergeTree and its kin). */
  final: boolean;
  /** ClickHouse's own text of the sorting key; exports follow it, so they are stable. */
  sortingKey: string;
  /** It has a `tenant` column (which tenant the meter's rows belong to). */
  hasTenant: boolean;
}

/** A column of an exported table, with its ClickHouse type. */
export interface ExportColumn {
  name: string;
  type: string;
}

/** One table's rows about a meter: the columns, then each row's values in column order. */
export interface MeterRows {
  table: string;
  columns: ExportColumn[];
  rows: AsyncIterable<unknown[]>;
}

/** What an erasure did. */
export interface Erasure {
  pseudonym: string;
  erasedAt: Date;
  actor: string;
  /** Rows per table before the erasure, as read (FINAL): what an export showed. */
  deleted: Record<string, number>;
  /**
   * Tables whose parts still hold rows of the meter afterwards, read with the deleted-rows
   * mask off (`apply_deleted_mask = 0`): what is physically on disk. Empty when complete.
   */
  remaining: Record<string, number>;
  /**
   * Every write that may have checked the erased set before the block ended before the
   * deletes ran (false: this process's writes outlasted the fence, so rows may still arrive).
   */
  fenced: boolean;
}

/** The erased set's part in an erasure: block first, wait for writes in flight, announce. */
export type ErasureFence = Pick<ErasedMeters, 'block' | 'quiesce' | 'announce'>;

// Engines whose merges replace, collapse or sum rows: only FINAL shows the rows as they are.
const COLLAPSING_ENGINE = /(Replacing|Collapsing|Summing|Aggregating|Coalescing)MergeTree$/;
// Engines that keep no rows of their own: the Null inbox and the views feeding other tables.
const ROWLESS_ENGINES = new Set(['Null', 'View', 'MaterializedView']);

const JSON_EXPORT_SETTINGS = {
  // 64-bit integers and decimals as JSON strings: a JavaScript number would round them.
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  // ISO 8601 in UTC (`2026-11-20T10:00:00.000Z`), unambiguous outside ClickHouse.
  date_time_output_format: 'iso',
} as const;

/**
 * The tables of `database` with a `meter` column that store rows. A table with a `meter`
 * column and an engine that cannot take a lightweight delete is an error, not a silent gap in
 * an erasure.
 */
export async function meterTables(client: ClickHouseClient, database: string): Promise<MeterTable[]> {
  const rs = await client.query({
    query: `SELECT name, engine, sorting_key,
                   name IN (SELECT table FROM system.columns WHERE database = {db:String} AND name = 'tenant') AS has_tenant
            FROM system.tables
            WHERE database = {db:String}
              AND name IN (SELECT table FROM system.columns WHERE database = {db:String} AND name = 'meter')
            ORDER BY name`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  const tables: MeterTable[] = [];
  for (const t of await rs.json<{ name: string; engine: string; sorting_key: string; has_tenant: number }>()) {
    if (ROWLESS_ENGINES.has(t.engine)) continue;
    if (!t.engine.endsWith('MergeTree')) {
      throw new MeterError(
        'METER_ERR_CLICKHOUSE',
        `table ${database}.${t.name} has a meter column but engine ${t.engine}: export and erasure support the MergeTree family only`,
      );
    }
    tables.push({
      name: t.name,
      engine: t.engine,
      final: COLLAPSING_ENGINE.test(t.engine),
      sortingKey: t.sorting_key,
      hasTenant: Number(t.has_tenant) === 1,
    });
  }
  return tables;
}

function from(table: MeterTable): string {
  return `{db:Identifier}.{table:Identifier}${table.final ? ' FINAL' : ''}`;
}

/** Rows per table about one meter, as read (FINAL where the engine needs it). */
export async function countMeterRows(
  client: ClickHouseClient,
  database: string,
  tables: MeterTable[],
  pseudonym: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const rs = await client.query({
      query: `SELECT count() AS n FROM ${from(table)} WHERE meter = {meter:String}`,
      query_params: { db: database, table: table.name, meter: pseudonym },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    counts[table.name] = Number((await rs.json<{ n: number }>())[0]?.n ?? 0);
  }
  return counts;
}

/**
 * Streams one table's rows about a meter. The query runs (and fails) here; the rows arrive as
 * the caller iterates, so memory holds one block of rows at a time.
 */
export async function readMeterRows(
  client: ClickHouseClient,
  database: string,
  table: MeterTable,
  pseudonym: string,
): Promise<MeterRows> {
  const rs = await client.query({
    // The sorting key is ClickHouse's own text from system.tables, not request input.
    query: `SELECT * FROM ${from(table)} WHERE meter = {meter:String}${table.sortingKey ? ` ORDER BY ${table.sortingKey}` : ''}`,
    query_params: { db: database, table: table.name, meter: pseudonym },
    format: 'JSONCompactEachRowWithNamesAndTypes',
    clickhouse_settings: JSON_EXPORT_SETTINGS,
  });
  const lines = (async function* () {
    try {
      for await (const block of rs.stream()) for (const row of block) yield row.json<unknown[]>();
    } finally {
      rs.close();
    }
  })();
  // The format's first two lines are the column names and types.
  const names = await lines.next();
  const types = await lines.next();
  if (names.done || types.done)
    throw new MeterError('METER_ERR_CLICKHOUSE', `export of ${database}.${table.name}: no header in the result`);
  const columns = (names.value as string[]).map((name, i) => ({ name, type: String((types.value as string[])[i]) }));
  return { table: table.name, columns, rows: { [Symbol.asyncIterator]: () => lines } };
}

/** `DateTime64(3)` text of a time, as ClickHouse parses it in any input format. */
function clickhouseMillis(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * The tenants a meter's stored rows belong to (a pseudonym derives from its tenant, so one in
 * practice), read without FINAL: any row counts. Empty for a meter with no row.
 */
export async function meterTenants(
  client: ClickHouseClient,
  database: string,
  tables: MeterTable[],
  pseudonym: string,
): Promise<string[]> {
  const tenants = new Set<string>();
  for (const table of tables.filter((t) => t.hasTenant)) {
    const rs = await client.query({
      query: `SELECT DISTINCT tenant FROM {db:Identifier}.{table:Identifier} WHERE meter = {meter:String}`,
      query_params: { db: database, table: table.name, meter: pseudonym },
      format: 'JSONEachRow',
    });
    for (const r of await rs.json<{ tenant: string }>()) tenants.add(r.tenant);
  }
  return [...tenants].sort();
}

/** The tenants earlier erasures and blocks of this pseudonym recorded (an erased meter has no rows left). */
export async function erasedTenants(client: ClickHouseClient, database: string, pseudonym: string): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT DISTINCT tenant FROM (
              SELECT tenant FROM {db:Identifier}.erasure_audit WHERE pseudonym = {meter:String}
              UNION ALL
              SELECT tenant FROM {db:Identifier}.meter_blocks WHERE pseudonym = {meter:String})`,
    query_params: { db: database, meter: pseudonym },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ tenant: string }>()).map((r) => r.tenant);
}

/**
 * Rows of the meter physically present in each table's active parts: read without FINAL and
 * with the deleted-rows mask off, so a row hidden by a lightweight delete still counts.
 */
export async function storedMeterRows(
  client: ClickHouseClient,
  database: string,
  tables: MeterTable[],
  pseudonym: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const rs = await client.query({
      query: `SELECT count() AS n FROM {db:Identifier}.{table:Identifier} WHERE meter = {meter:String}`,
      query_params: { db: database, table: table.name, meter: pseudonym },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0, apply_deleted_mask: 0 },
    });
    counts[table.name] = Number((await rs.json<{ n: number }>())[0]?.n ?? 0);
  }
  return counts;
}

/** Who asked for an erasure, and for which tenant (recorded in `erasure_audit`). */
export interface ErasureRequest {
  /** The token's name. */
  actor: string;
  /** The meter's tenant, `''` when no row said. */
  tenant: string;
}

/**
 * Erases a meter from every table with a `meter` column, physically, in this order:
 * 1. fence: the pseudonym is blocked (`meter_blocks`, then this process's stages at once, the
 *    other processes' at their next refresh), so no stage writes it any more, and the erasure
 *    waits until every write that may have checked before the block has ended
 *    ({@link ErasedMeters.quiesce});
 * 2. an `ALTER TABLE … DELETE` mutation per table holding the meter, returning once done on
 *    every replica (`mutations_sync = 2`). A lightweight `DELETE FROM` would only mask the rows,
 *    which stay on disk until a merge that may never come for a cold partition;
 * 3. the parts are read with the mask off to prove nothing is left (`remaining`);
 * 4. one row in `erasure_audit`: pseudonym, tenant, time, actor and the rows each table held.
 * An unknown pseudonym erases nothing and is audited all the same. A failure before the audit
 * leaves the erasure unaudited and maybe partial (the block stays); running it again completes
 * it. With a plain notifier instead of a fence (tests of one component), only this process's
 * in-memory meter state hears of it and nothing waits.
 */
export async function eraseMeter(
  client: ClickHouseClient,
  database: string,
  pseudonym: string,
  request: ErasureRequest,
  guard?: ErasureFence | Pick<ErasureNotifier, 'announce'>,
): Promise<Erasure> {
  let fenced = true;
  if (guard !== undefined && 'block' in guard) {
    await guard.block(pseudonym, request);
    fenced = await guard.quiesce();
    // A batch that was in flight may have set the meter's in-memory state again.
    guard.announce(pseudonym);
  } else guard?.announce(pseudonym);
  const tables = await meterTables(client, database);
  const deleted = await countMeterRows(client, database, tables, pseudonym);
  const stored = await storedMeterRows(client, database, tables, pseudonym);
  for (const table of tables) {
    if (stored[table.name] === 0) continue;
    await client.command({
      query: `ALTER TABLE {db:Identifier}.{table:Identifier} DELETE WHERE meter = {meter:String}`,
      query_params: { db: database, table: table.name, meter: pseudonym },
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  const after = await storedMeterRows(client, database, tables, pseudonym);
  const remaining = Object.fromEntries(Object.entries(after).filter(([, n]) => n > 0));
  const erasedAt = new Date();
  await client.insert({
    table: `${database}.erasure_audit`,
    values: [
      { pseudonym, tenant: request.tenant, erased_at: clickhouseMillis(erasedAt), actor: request.actor, deleted },
    ],
    format: 'JSONEachRow',
  });
  return { pseudonym, erasedAt, actor: request.actor, deleted, remaining, fenced };
}

/** Records an export in `export_audit`: who (the token's name), which meter, when, which format. */
export async function auditExport(
  client: ClickHouseClient,
  database: string,
  entry: { pseudonym: string; tenant: string; actor: string; format: string; at: Date },
): Promise<void> {
  await client.insert({
    table: `${database}.export_audit`,
    values: [
      {
        pseudonym: entry.pseudonym,
        tenant: entry.tenant,
        exported_at: clickhouseMillis(entry.at),
        actor: entry.actor,
        format: entry.format,
      },
    ],
    format: 'JSONEachRow',
  });
}
