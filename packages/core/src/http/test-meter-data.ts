/**
 * The fixture of the meter data routes' tests (export, erasure): one embedded engine per test
 * process, migrated, two meters stored in every table with a meter column the way the services
 * write them (replaced versions kept in separate parts: merges are stopped), and an HTTP server
 * with the routes and the tokens of three kinds of caller. The test file closes `clickhouse`.
 */
import assert from 'node:assert/strict';
import { createClickHouse } from '../clickhouse/client.js';
import { meterTables } from '../clickhouse/meter-data.js';
import { migrate } from '../clickhouse/migrations.js';
import { createLogger } from '../telemetry/logger.js';
import { createRegistry } from '../telemetry/metrics.js';
import { testConfig } from '../testing.js';
import { ErasureNotifier } from '../erasure-notifier.js';
import { credentialsOf, sha256Hex } from '../config/credentials.js';
import { Access } from './access.js';
import { createHttpServer } from './server.js';
import { registerMeterDataRoutes } from './meter-data.routes.js';

// One embedded engine for this file (one per process).
export const config = testConfig();
export const db = config.clickhouse.database;
export const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: db, retention: config.retention });

export const API_TOKEN = 'read-token-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
// An admin of another tenant, and an admin of the meters' own tenant.
export const OTHER_ADMIN_TOKEN = 'bergen-admin-0123456789abcdef';
export const OWN_ADMIN_TOKEN = 'default-admin-0123456789abcdef';
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const access = new Access(
  credentialsOf(
    [
      { name: 'bergen-dpo', role: 'admin', tenants: ['bergen'], sha256: sha256Hex(OTHER_ADMIN_TOKEN) },
      { name: 'default-dpo', role: 'admin', tenants: ['default'], sha256: sha256Hex(OWN_ADMIN_TOKEN) },
    ],
    API_TOKEN,
    ADMIN_TOKEN,
  ),
);
export const app = createHttpServer({
  registry: createRegistry('t'),
  logger: createLogger({ level: 'silent' }),
  readiness: {},
  access,
});
// What this process's in-memory meter state would hear of the erasures.
export const erasures = new ErasureNotifier();
export const announced: string[] = [];
erasures.subscribe((p) => announced.push(p));
registerMeterDataRoutes(app, { clickhouse, database: db, erasures });

export const A = 'a0'.repeat(16);
export const B = 'b1'.repeat(16);
export const SUMMARY = 'night flow, "12.5 L/h"\nsecond line';

/** ClickHouse DateTime64(3) text of epoch milliseconds. */
export const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
export const HOUR = 3_600_000;
// Recent data, well inside every table's retention (background TTL merges would take older rows).
export const base = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;

/** The rows each table shows (FINAL) for one meter after {@link storeMeter}. */
export const EXPECTED: Record<string, number> = {
  readings_raw: 3,
  readings_hourly: 2,
  alerts: 1,
  invoice_checks: 1,
  anomaly_state: 1,
  alert_deliveries: 1,
  alert_holds: 1,
  alert_acks: 1,
};

/**
 * Stores one meter's rows in every table, the way the services write them, with replaced
 * versions. One insert per row: rows of one insert would be collapsed at insert time
 * (`optimize_on_insert`), and then reading without FINAL would look right too.
 */
export async function storeMeter(meter: string): Promise<void> {
  const insert = async (table: string, values: Record<string, unknown>[]) => {
    for (const row of values)
      await clickhouse.insert({ table: `${db}.${table}`, values: [row], format: 'JSONEachRow' });
  };
  // readings_raw through its real insert path: the ingestor's inbox and the materialized view.
  // The first reading is delivered twice (a redelivery): FINAL keeps 3 readings.
  const reading = {
    tenant: 'default',
    meter,
    kind: 'WATER',
    unit: 'L',
    reading_type: 'INTERVAL',
    interval_seconds: 900,
    zone_id: 'Z1',
    price_area: null,
    source_partition: 0,
  };
  await insert('readings_raw_inbox', [
    {
      ...reading,
      ts_ms: [base, base + 900_000, base + 1_800_000],
      values: [1.5, 2, 0],
      quality_ranks: [1, 1, 1],
      source_offsets: [10, 11, 12],
    },
    { ...reading, ts_ms: [base], values: [1.5], quality_ranks: [1], source_offsets: [20] },
  ]);
  const hourly = {
    tenant: 'default',
    meter,
    kind: 'WATER',
    unit: 'L',
    value_min: 0,
    value_max: 2,
    samples: 3,
    coverage: 0.75,
    zone_id: 'Z1',
  };
  await insert('readings_hourly', [
    {
      ...hourly,
      hour: chTime(base),
      value_sum: 3,
      first_ts: chTime(base),
      last_ts: chTime(base + 900_000),
      version: 11,
    },
    {
      ...hourly,
      hour: chTime(base),
      value_sum: 3.5,
      first_ts: chTime(base),
      last_ts: chTime(base + 1_800_000),
      version: 12,
    },
    {
      ...hourly,
      hour: chTime(base + HOUR),
      value_sum: 0,
      first_ts: chTime(base + HOUR),
      last_ts: chTime(base + HOUR),
      version: 13,
    },
  ]);
  const alert = {
    alert_id: `al-${meter}`,
    dedup_key: `NIGHT_FLOW:${meter}`,
    type: 'NIGHT_FLOW',
    severity: 'WARNING',
    tenant: 'default',
    meter,
    zone_id: 'Z1',
    starts_at: chTime(base),
    summary: SUMMARY,
    details: { minNightFlowLph: 14.5 },
  };
  await insert('alerts', [
    { ...alert, status: 'FIRING', ends_at: null, version: 1 },
    { ...alert, status: 'RESOLVED', ends_at: chTime(base + HOUR), version: 2 },
  ]);
  await insert('invoice_checks', [
    {
      invoice_id: `inv-${meter}`,
      tenant: 'default',
      meter,
      kind: 'WATER',
      period_start: chTime(base - 30 * 24 * HOUR),
      period_end: chTime(base),
      billed_quantity: 10,
      metered_quantity: 9.5,
      unit: 'L',
      coverage: 1,
      outcome: 'OK',
      version: 1,
    },
  ]);
  const state = {
    source: 'hourly',
    partition: 0,
    key: `night:${meter}`,
    tenant: 'default',
    meter,
    prev_offset: -1,
    prev_state: '',
  };
  await insert('anomaly_state', [
    { ...state, offset: 5, state: '{"nights":1}', version: 1 },
    { ...state, offset: 9, state: '{"nights":2}', version: 2 },
  ]);
  // The notifier's tables: a delivery retried then delivered, a held notification, an ack.
  const delivery = {
    sink: 'webhook:ops',
    alert_id: `al-${meter}`,
    status: 'FIRING',
    dedup_key: `NIGHT_FLOW:${meter}`,
    tenant: 'default',
    meter,
    reason: '',
    starts_at: chTime(base),
  };
  await insert('alert_deliveries', [
    { ...delivery, outcome: 'retrying', attempts: 1, finished_at: chTime(base + 1000) },
    { ...delivery, outcome: 'delivered', attempts: 2, finished_at: chTime(base + 2000) },
  ]);
  const hold = {
    alert_id: `al-${meter}`,
    status: 'FIRING',
    dedup_key: `NIGHT_FLOW:${meter}`,
    tenant: 'default',
    meter,
    alert: '{}',
    silence_id: 's1',
    source_partition: 0,
    source_offset: 3,
    held_at: chTime(base),
  };
  await insert('alert_holds', [
    { ...hold, state: 'held', version: 1 },
    { ...hold, state: 'released', version: 2 },
  ]);
  const ack = {
    dedup_key: `NIGHT_FLOW:${meter}`,
    alert_id: `al-${meter}`,
    tenant: 'default',
    meter,
    starts_at: chTime(base),
  };
  await insert('alert_acks', [
    { ...ack, acked_by: 'ops', note: 'looking', acked_at: chTime(base + 1000) },
    { ...ack, acked_by: 'ops', note: 'plumber booked', acked_at: chTime(base + 2000) },
  ]);
}

/** Rows of one meter in a table, as queries see them (FINAL) or as stored (no FINAL). */
export async function countRows(table: string, meter: string, final: boolean): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM {db:Identifier}.{table:Identifier} ${final ? 'FINAL' : ''} WHERE meter = {meter:String}`,
    query_params: { db, table, meter },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json<{ n: number }>())[0].n;
}

export async function countsOf(meter: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await meterTables(clickhouse, db)) counts[t.name] = await countRows(t.name, meter, true);
  return counts;
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, CRLF line ends. */
export function parseCsv(text: string): string[][] {
  const lines: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      fields.push(field);
      lines.push(fields);
      fields = [];
      field = '';
      i++;
    } else field += c;
  }
  assert.equal(field + fields.join(''), '', 'the CSV ends with a line end');
  return lines;
}

/** Stops or starts background merges of every table with a meter column. */
export async function merges(action: 'STOP' | 'START'): Promise<void> {
  for (const t of await meterTables(clickhouse, db)) {
    await clickhouse.command({
      query: `SYSTEM ${action} MERGES {db:Identifier}.{table:Identifier}`,
      query_params: { db, table: t.name },
    });
  }
}

// Replaced versions stay in separate parts until the erasure tests (which need merges: a
// lightweight delete is a mutation), so the exports must read with FINAL to pass.
await merges('STOP');
await storeMeter(A);
await storeMeter(B);
