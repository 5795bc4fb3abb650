import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
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
import { EXPORT_CSV_HEADER, registerMeterDataRoutes } from './meter-data.routes.js';

// One embedded engine for this file (one per process).
const config = testConfig();
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
after(() => clickhouse.close());
await migrate(clickhouse, { database: db, retention: config.retention });

const API_TOKEN = 'read-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
// An admin of another tenant, and an admin of the meters' own tenant.
const OTHER_ADMIN_TOKEN = 'bergen-admin-0123456789abcdef';
const OWN_ADMIN_TOKEN = 'default-admin-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const access = new Access(
  credentialsOf(
    [
      { name: 'bergen-dpo', role: 'admin', tenants: ['bergen'], sha256: sha256Hex(OTHER_ADMIN_TOKEN) },
      { name: 'default-dpo', role: 'admin', tenants: ['default'], sha256: sha256Hex(OWN_ADMIN_TOKEN) },
    ],
    API_TOKEN,
    ADMIN_TOKEN,
  ),
);
const app = createHttpServer({
  registry: createRegistry('t'),
  logger: createLogger({ level: 'silent' }),
  readiness: {},
  access,
});
// What this process's in-memory meter state would hear of the erasures.
const erasures = new ErasureNotifier();
const announced: string[] = [];
erasures.subscribe((p) => announced.push(p));
registerMeterDataRoutes(app, { clickhouse, database: db, erasures });

const A = 'a0'.repeat(16);
const B = 'b1'.repeat(16);
const SUMMARY = 'night flow, "12.5 L/h"\nsecond line';

/** ClickHouse DateTime64(3) text of epoch milliseconds. */
const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const HOUR = 3_600_000;
// Recent data, well inside every table's retention (background TTL merges would take older rows).
const base = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;

/** The rows each table shows (FINAL) for one meter after {@link storeMeter}. */
const EXPECTED: Record<string, number> = {
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
async function storeMeter(meter: string): Promise<void> {
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
async function countRows(table: string, meter: string, final: boolean): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM {db:Identifier}.{table:Identifier} ${final ? 'FINAL' : ''} WHERE meter = {meter:String}`,
    query_params: { db, table, meter },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json<{ n: number }>())[0].n;
}

async function countsOf(meter: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await meterTables(clickhouse, db)) counts[t.name] = await countRows(t.name, meter, true);
  return counts;
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, CRLF line ends. */
function parseCsv(text: string): string[][] {
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
async function merges(action: 'STOP' | 'START'): Promise<void> {
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

test('the fixture reaches every table with a meter column, with replaced versions still stored', async () => {
  const tables = (await meterTables(clickhouse, db)).map((t) => t.name).sort();
  // A table added by a later migration is exported and erased automatically; give it rows here.
  assert.deepEqual(tables, Object.keys(EXPECTED).sort(), 'tables with a meter column');
  assert.deepEqual(await countsOf(A), EXPECTED);
  assert.deepEqual(await countsOf(B), EXPECTED);
  for (const table of ['readings_raw', 'readings_hourly', 'alerts', 'anomaly_state']) {
    assert.ok(
      (await countRows(table, A, false)) > EXPECTED[table],
      `${table}: replaced rows still stored, so only FINAL gives ${EXPECTED[table]}`,
    );
  }
});

test('export, JSON: every table, as queries see it (FINAL), only this meter', async () => {
  const r = await app.inject({ url: `/v1/meters/${A}/export`, headers: admin });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.headers['cache-control'], 'no-store');
  const body = r.json();
  assert.equal(body.pseudonym, A);
  assert.ok(Math.abs(Date.parse(body.exportedAt) - Date.now()) < 60_000);
  assert.deepEqual(
    Object.fromEntries(Object.entries(body.tables).map(([t, rows]) => [t, (rows as unknown[]).length])),
    EXPECTED,
  );
  for (const rows of Object.values(body.tables) as { meter: string }[][])
    for (const row of rows) assert.equal(row.meter, A);
  const hours = body.tables.readings_hourly as { hour: string; value_sum: number; version: string }[];
  assert.deepEqual(
    hours.map((h) => [h.hour, h.value_sum, h.version]),
    [
      [new Date(base).toISOString().replace('.000Z', 'Z'), 3.5, '12'],
      [new Date(base + HOUR).toISOString().replace('.000Z', 'Z'), 0, '13'],
    ],
    'the newest version of each hour, in sorting-key order, timestamps ISO 8601 UTC, UInt64 as strings',
  );
  const [alert] = body.tables.alerts;
  assert.equal(alert.status, 'RESOLVED');
  assert.equal(alert.summary, SUMMARY);
  assert.deepEqual(alert.details, { minNightFlowLph: 14.5 });
  assert.deepEqual(
    body.tables.readings_raw.map((x: { ts: string; value: number }) => [x.ts, x.value]),
    [0, 1, 2].map((i) => [new Date(base + i * 900_000).toISOString(), [1.5, 2, 0][i]]),
  );
});

test('export, CSV: long format table,row,column,type,value, parseable, the same values as JSON', async () => {
  const r = await app.inject({ url: `/v1/meters/${A}/export?format=csv`, headers: admin });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/csv; charset=utf-8/);
  assert.equal(r.headers['content-disposition'], `attachment; filename="meter-${A}.csv"`);
  const [header, ...lines] = parseCsv(r.body);
  assert.deepEqual(header, [...EXPORT_CSV_HEADER]);
  const json = (await app.inject({ url: `/v1/meters/${A}/export`, headers: admin })).json();
  // Rebuild the rows from the long format and compare them with the JSON export.
  const rebuilt: Record<string, Record<string, string>[]> = {};
  for (const [table, row, column, , value] of lines) {
    const rows = (rebuilt[table] ??= []);
    (rows[Number(row) - 1] ??= {})[column] = value;
  }
  for (const [table, rows] of Object.entries(json.tables) as [string, Record<string, unknown>[]][]) {
    assert.equal((rebuilt[table] ?? []).length, rows.length, `${table} rows`);
    rows.forEach((row, i) => {
      for (const [column, v] of Object.entries(row)) {
        const text = v === null ? undefined : typeof v === 'object' ? JSON.stringify(v) : String(v);
        assert.equal(rebuilt[table][i][column], text, `${table} row ${i + 1} ${column}`);
      }
    });
  }
  const types = new Map(lines.map(([table, , column, type]) => [`${table}.${column}`, type]));
  assert.equal(types.get('readings_hourly.hour'), "DateTime('UTC')");
  assert.equal(types.get('alerts.details'), 'Map(String, Float64)');
});

test("export of an unknown meter, or of another tenant's meter: the same 404, no data", async () => {
  const unknown = await app.inject({ url: `/v1/meters/${'c2'.repeat(16)}/export`, headers: admin });
  assert.equal(unknown.statusCode, 404);
  const other = await app.inject({
    url: `/v1/meters/${A}/export?format=csv`,
    headers: { authorization: `Bearer ${OTHER_ADMIN_TOKEN}` },
  });
  assert.equal(other.statusCode, 404);
  assert.deepEqual(other.json(), unknown.json(), 'nothing tells an existing meter of another tenant apart');
  const own = await app.inject({
    url: `/v1/meters/${A}/export`,
    headers: { authorization: `Bearer ${OWN_ADMIN_TOKEN}` },
  });
  assert.equal(own.statusCode, 200);
  assert.deepEqual(Object.keys(own.json().tables).sort(), Object.keys(EXPECTED).sort());
});

test("every export is audited with the token's name, never the token", async () => {
  const exports = async () => {
    const rs = await clickhouse.query({
      query: `SELECT actor, tenant, format FROM {db:Identifier}.export_audit WHERE pseudonym = {p:String} ORDER BY exported_at`,
      query_params: { db, p: B },
      format: 'JSONEachRow',
    });
    return rs.json<{ actor: string; tenant: string; format: string }>();
  };
  const before = (await exports()).length;
  await app.inject({
    url: `/v1/meters/${B}/export?format=csv`,
    headers: { authorization: `Bearer ${OWN_ADMIN_TOKEN}` },
  });
  await app.inject({ url: `/v1/meters/${B}/export`, headers: admin });
  await app.inject({ url: `/v1/meters/${B}/export`, headers: { authorization: `Bearer ${OTHER_ADMIN_TOKEN}` } });
  assert.deepEqual((await exports()).slice(before), [
    { actor: 'default-dpo', tenant: 'default', format: 'csv' },
    { actor: 'admin-token', tenant: 'default', format: 'json' },
  ]);
});

test('export, CSV: producer text that a spreadsheet would run as a formula is neutralised, numbers are not', async () => {
  const meter = 'e4'.repeat(16);
  const hostile = ['=HYPERLINK("http://evil.example","x")', '+1+cmd|calc', '-2+3', '@SUM(A1)', '\t=1+1'];
  for (const [i, zone] of hostile.entries()) {
    await clickhouse.insert({
      table: `${db}.readings_hourly`,
      values: [
        {
          tenant: 'default',
          meter,
          kind: 'TEMPERATURE',
          unit: 'CELSIUS',
          hour: chTime(base + i * HOUR),
          value_sum: -3.5,
          value_min: -3.5,
          value_max: -3.5,
          samples: 1,
          first_ts: chTime(base + i * HOUR),
          last_ts: chTime(base + i * HOUR),
          coverage: 1,
          zone_id: zone,
          version: 1,
        },
      ],
      format: 'JSONEachRow',
    });
  }
  const r = await app.inject({ url: `/v1/meters/${meter}/export?format=csv`, headers: admin });
  assert.equal(r.statusCode, 200);
  const lines = parseCsv(r.body);
  const zones = lines.filter(([, , column]) => column === 'zone_id').map(([, , , , value]) => value);
  assert.deepEqual(
    zones,
    hostile.map((z) => `'${z}`),
  );
  const mins = lines.filter(([, , column]) => column === 'value_min').map(([, , , , value]) => value);
  assert.deepEqual(
    mins,
    hostile.map(() => '-3.5'),
    'a negative number stays a number',
  );
  for (const [, , , , value] of lines) assert.doesNotMatch(value, /^[=+@\t\r]/);
});

const bad: [string, 'GET' | 'DELETE', string, Record<string, string>, number][] = [];
for (const [method, url] of [
  ['GET', `/v1/meters/${A}/export`],
  ['DELETE', `/v1/meters/${A}`],
] as const) {
  bad.push(
    [`${method} without a token`, method, url, {}, 401],
    [`${method} with a wrong token`, method, url, { authorization: 'Bearer not-the-admin-token-at-all' }, 401],
    [`${method} with the read-only API token`, method, url, { authorization: `Bearer ${API_TOKEN}` }, 403],
    [
      `${method} with an admin token of another tenant`,
      method,
      url,
      { authorization: `Bearer ${OTHER_ADMIN_TOKEN}` },
      404,
    ],
    // Authentication comes before validation: a bad request without a token learns nothing.
    [`${method} without a token and with a bad pseudonym`, method, url.replace(A, 'x'), {}, 401],
    [
      `${method} with a Basic header`,
      method,
      url,
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      401,
    ],
    [`${method} with a raw meter ID`, method, url.replace(A, '707057500000000017'), admin, 400],
    [`${method} with an upper-case pseudonym`, method, url.replace(A, A.toUpperCase()), admin, 400],
    [`${method} with a pseudonym one character short`, method, url.replace(A, A.slice(1)), admin, 400],
    [`${method} with SQL in the pseudonym`, method, url.replace(A, encodeURIComponent(`${A}' OR 1=1 --`)), admin, 400],
  );
}
bad.push(
  ['GET with format=xml', 'GET', `/v1/meters/${A}/export?format=xml`, admin, 400],
  ['GET with format=CSV (formats are lower case)', 'GET', `/v1/meters/${A}/export?format=CSV`, admin, 400],
  [
    'DELETE with an empty JSON body',
    'DELETE',
    `/v1/meters/${A}`,
    { ...admin, 'content-type': 'application/json' },
    400,
  ],
  ['DELETE with an empty pseudonym', 'DELETE', '/v1/meters/', admin, 400],
);
for (const [name, method, url, headers, status] of bad) {
  test(`${status} with a JSON error: ${name}`, async () => {
    const r = await app.inject({ method, url, headers });
    assert.equal(r.statusCode, status);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const body = r.json();
    assert.equal(typeof body.error, 'string');
    assert.equal(typeof body.code, 'string');
  });
}

test('403 on both routes when no token is configured, whatever the request sends', async () => {
  const closed = createHttpServer({
    registry: createRegistry('u'),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
  });
  const heard: string[] = [];
  const notifier = new ErasureNotifier();
  notifier.subscribe((p) => heard.push(p));
  registerMeterDataRoutes(closed, { clickhouse, database: db, erasures: notifier });
  for (const method of ['GET', 'DELETE'] as const) {
    const r = await closed.inject({
      method,
      url: `/v1/meters/${A}${method === 'GET' ? '/export' : ''}`,
      headers: admin,
    });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'FORBIDDEN');
  }
  assert.deepEqual(await countsOf(A), EXPECTED, 'nothing erased');
  assert.deepEqual(heard, [], 'a refused erasure is not announced');
});

async function auditRows(
  pseudonym: string,
): Promise<{ pseudonym: string; erased_at: string; actor: string; tenant: string; deleted: Record<string, number> }[]> {
  const rs = await clickhouse.query({
    query: `SELECT pseudonym, erased_at, actor, tenant, deleted FROM {db:Identifier}.erasure_audit WHERE pseudonym = {p:String} ORDER BY erased_at`,
    query_params: { db, p: pseudonym },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, date_time_output_format: 'iso' },
  });
  return rs.json();
}

/** Rows of the meter in the table's active parts, read with the deleted-rows mask off: what is on disk. */
async function rowsInParts(table: string, meter: string): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM {db:Identifier}.{table:Identifier} WHERE meter = {meter:String}`,
    query_params: { db, table, meter },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, apply_deleted_mask: 0 },
  });
  return (await rs.json<{ n: number }>())[0].n;
}

test('a lightweight delete would leave the rows in the parts: what the erasure must not do', async () => {
  // Deletes of both kinds are mutations, which run in the merge pool.
  await merges('START');
  const meter = 'f5'.repeat(16);
  await clickhouse.insert({
    table: `${db}.invoice_checks`,
    values: [
      {
        invoice_id: 'x',
        tenant: 'default',
        meter,
        kind: 'WATER',
        period_start: chTime(base),
        period_end: chTime(base),
        billed_quantity: 1,
        unit: 'L',
        coverage: 1,
        outcome: 'OK',
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
  await clickhouse.command({
    query: `DELETE FROM {db:Identifier}.invoice_checks WHERE meter = {m:String}`,
    query_params: { db, m: meter },
  });
  assert.equal(await countRows('invoice_checks', meter, true), 0, 'hidden from queries');
  assert.equal(await rowsInParts('invoice_checks', meter), 1, 'still on disk: this read sees it');
  const r = await app.inject({ method: 'DELETE', url: `/v1/meters/${meter}`, headers: admin });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().complete, true);
  assert.equal(await rowsInParts('invoice_checks', meter), 0, 'the erasure removed it from the parts');
});

test('an admin of another tenant cannot erase the meter: 404, nothing erased, nothing announced', async () => {
  const heard = announced.length;
  const r = await app.inject({
    method: 'DELETE',
    url: `/v1/meters/${A}`,
    headers: { authorization: `Bearer ${OTHER_ADMIN_TOKEN}` },
  });
  assert.equal(r.statusCode, 404);
  assert.deepEqual(await countsOf(A), EXPECTED);
  assert.equal(announced.length, heard);
});

test('erasure: every row of the meter gone from every table and its parts, the other meter untouched, audited', async () => {
  announced.length = 0;
  await merges('START');
  const before = Date.now();
  const r = await app.inject({ method: 'DELETE', url: `/v1/meters/${A}`, headers: admin });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(announced, [A], 'the process heard of the erasure');
  const body = r.json();
  assert.deepEqual(body.deleted, EXPECTED);
  assert.equal(
    body.total,
    Object.values(EXPECTED).reduce((a, b) => a + b, 0),
  );
  assert.equal(body.complete, true);
  assert.deepEqual(body.remaining, {});
  for (const table of Object.keys(EXPECTED)) {
    assert.equal(await countRows(table, A, true), 0, `${table}: no row of the erased meter (FINAL)`);
    assert.equal(await countRows(table, A, false), 0, `${table}: no row of the erased meter (as stored)`);
    assert.equal(await rowsInParts(table, A), 0, `${table}: no row of the erased meter in the parts`);
  }
  assert.deepEqual(await countsOf(B), EXPECTED, 'the other meter keeps everything');
  const exported = await app.inject({ url: `/v1/meters/${A}/export`, headers: admin });
  assert.equal(exported.statusCode, 404, 'nothing left to export');

  const audit = await auditRows(A);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].actor, 'admin-token');
  assert.equal(audit[0].tenant, 'default');
  assert.notEqual(audit[0].actor, ADMIN_TOKEN);
  assert.deepEqual(audit[0].deleted, EXPECTED);
  assert.equal(audit[0].erased_at, body.erasedAt);
  assert.ok(Date.parse(audit[0].erased_at) >= before - 1000);
});

test('erasure is idempotent: again, or of an unknown pseudonym by an operator, is 200 with zero counts and audited', async () => {
  const zeros = Object.fromEntries(Object.keys(EXPECTED).map((t) => [t, 0]));
  const again = await app.inject({
    method: 'DELETE',
    url: `/v1/meters/${A}`,
    headers: { authorization: `Bearer ${OWN_ADMIN_TOKEN}` },
  });
  assert.equal(again.statusCode, 200, "the tenant's admin repeats an erasure of its tenant's meter");
  assert.deepEqual(again.json().deleted, zeros);
  assert.equal(again.json().total, 0);
  assert.deepEqual(
    (await auditRows(A)).map((a) => a.actor),
    ['admin-token', 'default-dpo'],
  );
  const otherTenant = await app.inject({
    method: 'DELETE',
    url: `/v1/meters/${A}`,
    headers: { authorization: `Bearer ${OTHER_ADMIN_TOKEN}` },
  });
  assert.equal(otherTenant.statusCode, 404);

  const unknown = 'd3'.repeat(16);
  const r = await app.inject({ method: 'DELETE', url: `/v1/meters/${unknown}`, headers: admin });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json().deleted, zeros);
  const audit = await auditRows(unknown);
  assert.equal(audit.length, 1);
  assert.deepEqual(audit[0].deleted, zeros);
  assert.deepEqual(await countsOf(B), EXPECTED);
  assert.deepEqual(announced, [A, A, unknown], 'every erasure announced, the repeated one too');
  const scoped = await app.inject({
    method: 'DELETE',
    url: `/v1/meters/${'d4'.repeat(16)}`,
    headers: { authorization: `Bearer ${OWN_ADMIN_TOKEN}` },
  });
  assert.equal(scoped.statusCode, 404, "a tenant's admin cannot erase a pseudonym whose tenant nothing tells");
});

test('/docs/json: a valid OpenAPI 3 document with the export and erasure routes, behind bearer auth', async () => {
  const r = await app.inject({ url: '/docs/json' });
  assert.equal(r.statusCode, 200);
  const doc = r.json();
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.deepEqual(result.errors, undefined);
  assert.equal(result.valid, true);
  assert.match(validator.version, /^3\./);
  assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
    type: 'http',
    scheme: 'bearer',
    description: 'A token of METERSTREAM_TOKENS (or METERSTREAM_API_TOKEN, METERSTREAM_ADMIN_TOKEN)',
  });
  // Added synchronously after createHttpServer(), as every service does: they must be there.
  for (const path of ['/healthz', '/readyz', '/metrics', '/v1/meters/{pseudonym}/export', '/v1/meters/{pseudonym}'])
    assert.ok(doc.paths[path], path);
  const exportOp = doc.paths['/v1/meters/{pseudonym}/export'].get;
  assert.deepEqual(exportOp.security, [{ bearerAuth: [] }]);
  assert.deepEqual(exportOp.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort(), [
    'path:pseudonym',
    'query:format',
  ]);
  assert.ok(exportOp.responses['200'].content['text/csv']);
  assert.match(exportOp.description, /table,row,column,type,value/);
  const eraseOp = doc.paths['/v1/meters/{pseudonym}'].delete;
  assert.deepEqual(eraseOp.security, [{ bearerAuth: [] }]);
  assert.deepEqual(Object.keys(eraseOp.responses).sort(), ['200', '400', '401', '403', '404', '429']);
  assert.equal(doc.paths['/healthz'].get.security, undefined, 'health routes need no token');
  const ui = await app.inject({ url: '/docs' });
  assert.equal(ui.statusCode, 200);
  assert.match(String(ui.headers['content-type']), /^text\/html/);
});
