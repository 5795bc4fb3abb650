// The meter data export route (GET /v1/meters/{pseudonym}/export) and the JSON errors of both
// meter data routes, on the fixture of test-meter-data.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { meterTables } from '../clickhouse/meter-data.js';
import { EXPORT_CSV_HEADER } from './meter-data.routes.js';
import {
  db,
  clickhouse,
  API_TOKEN,
  ADMIN_TOKEN,
  OTHER_ADMIN_TOKEN,
  OWN_ADMIN_TOKEN,
  admin,
  app,
  A,
  B,
  SUMMARY,
  chTime,
  HOUR,
  base,
  EXPECTED,
  countRows,
  countsOf,
  parseCsv,
} from './test-meter-data.js';

after(() => clickhouse.close());

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
