import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Access,
  createClickHouse,
  createHttpServer,
  createLogger,
  createRegistry,
  migrate,
  pseudonymOf,
  sha256Hex,
} from '@meterstream/core';
import { TEST_KEY_HEX, testConfig, utcDaysAgo } from '@meterstream/core/testing';
import { ZoneBalanceSource } from '../sources/zone-balance.source.js';
import { aggregateZoneHours, type ZoneMeterHour } from '../transforms/zone-balance.js';
import { registerZoneBalanceRoute } from './zone-balance.route.js';
import { registerZoneBalancesRoute } from './zone-balances.route.js';

const config = testConfig({
  METERSTREAM_ZONE_INFLOWS: JSON.stringify({ oslo: { Z1: ['BULK-1', 'BULK-2'] }, bergen: { Z1: ['BULK-1'] } }),
});
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: db, retention: config.retention });
const H = 3_600_000;
const OSLO_TOKEN = 'oslo-read-token-0123456789abcdef';
const BERGEN_TOKEN = 'bergen-read-token-0123456789abcdef';
const OPS_TOKEN = 'operator-read-token-0123456789abcdef';
const app = createHttpServer({
  registry: createRegistry('t'),
  logger: createLogger({ level: 'silent' }),
  readiness: {},
  access: new Access([
    { name: 'oslo', role: 'read', tenants: ['oslo'], sha256: sha256Hex(OSLO_TOKEN) },
    { name: 'bergen', role: 'read', tenants: ['bergen'], sha256: sha256Hex(BERGEN_TOKEN) },
    { name: 'ops', role: 'operator-read', tenants: null, sha256: sha256Hex(OPS_TOKEN) },
  ]),
});
registerZoneBalanceRoute(app, { clickhouse, database: db, zoneInflows: config.anomaly.zoneInflows });
registerZoneBalancesRoute(app, { clickhouse, database: db, zoneInflows: config.anomaly.zoneInflows });
after(async () => {
  await app.close();
  await clickhouse.close();
});

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const bulk1 = pseudonymOf(key, 'oslo', 'BULK-1');
const bulk2 = pseudonymOf(key, 'oslo', 'BULK-2');
const start = utcDaysAgo(2);
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
type Row = ZoneMeterHour & { tenant: string; zone: string | null };
const rows: Row[] = [];
for (let i = 0; i < 3; i++) {
  const hour = start + i * H;
  rows.push({ tenant: 'oslo', zone: null, meter: bulk1, hour, litres: 600, coverage: 1 });
  rows.push({ tenant: 'oslo', zone: 'Z1', meter: bulk2, hour, litres: 400, coverage: 1 });
  // Four customers; the fourth reports only half of the second hour and nothing in the third.
  for (let c = 0; c < 4; c++) {
    if (c === 3 && i === 2) continue;
    rows.push({
      tenant: 'oslo',
      zone: 'Z1',
      meter: `c${c}`.repeat(16),
      hour,
      litres: 50,
      coverage: c === 3 && i === 1 ? 0.5 : 1,
    });
  }
  // Not Z1's: a customer of Z2, and bergen's zone of the same name.
  rows.push({ tenant: 'oslo', zone: 'Z2', meter: 'd0'.repeat(16), hour, litres: 9999, coverage: 1 });
  rows.push({ tenant: 'bergen', zone: 'Z1', meter: 'e0'.repeat(16), hour, litres: 7777, coverage: 1 });
}
await clickhouse.insert({
  table: `${db}.readings_hourly`,
  values: rows.map((r) => ({
    tenant: r.tenant,
    meter: r.meter,
    kind: 'WATER',
    unit: 'L',
    hour: chTime(r.hour),
    value_sum: r.litres,
    value_min: 0,
    value_max: r.litres,
    samples: 4,
    first_ts: chTime(r.hour),
    last_ts: chTime(r.hour + H),
    coverage: r.coverage,
    zone_id: r.zone,
    version: 1,
  })),
  format: 'JSONEachRow',
});

const get = (url: string, token = OSLO_TOKEN) => app.inject({ url, headers: { authorization: `Bearer ${token}` } });
const range = `from=${new Date(start).toISOString()}&to=${new Date(start + 4 * H).toISOString()}`;

test("a zone's hours: inflow meters' litres, its customers', the balance and the covered shares", async () => {
  const r = await get(`/v1/zones/Z1/balance?${range}`);
  assert.equal(r.statusCode, 200, r.body);
  const body = r.json();
  assert.equal(body.tenant, 'oslo');
  assert.equal(body.inflowMeters, 2);
  assert.equal(body.customerMeters, 4);
  assert.deepEqual(
    body.hours.map((h: Record<string, unknown>) => [
      h.inflowL,
      h.customersL,
      h.balanceL,
      h.inflowCoverage,
      h.customerCoverage,
    ]),
    [
      [1000, 200, 800, 1, 1],
      [1000, 200, 800, 1, 0.75],
      [1000, 150, 850, 1, 0.75],
      // An hour without data is shown as a hole (nothing covered), not as a zero loss.
      [0, 0, 0, 0, 0],
    ],
  );
  assert.ok(!r.body.includes('BULK'), 'no raw meter ID');
});

test('the ClickHouse sums are those of the pure function over the same rows', async () => {
  const own = rows.filter((r) => r.tenant === 'oslo' && (r.zone === 'Z1' || r.meter === bulk1));
  const { aggregates, customers } = await new ZoneBalanceSource(clickhouse, db).hours({
    tenant: 'oslo',
    zone: 'Z1',
    inflows: [bulk1, bulk2],
    from: start,
    to: start + 4 * H,
  });
  assert.deepEqual(aggregates, aggregateZoneHours(own, new Set([bulk1, bulk2])));
  assert.equal(customers, 4);
});

test("another tenant's zone is a 404, as an unknown zone; a token of several tenants names the tenant", async () => {
  assert.equal((await get(`/v1/zones/Z2/balance?${range}`)).statusCode, 404, 'no inflow meters: no balance');
  const foreign = await get(`/v1/zones/Z1/balance?tenant=oslo&${range}`, BERGEN_TOKEN);
  assert.equal(foreign.statusCode, 404);
  assert.deepEqual(Object.keys(foreign.json()).sort(), ['code', 'error']);
  const own = await get(`/v1/zones/Z1/balance?${range}`, BERGEN_TOKEN);
  assert.equal(own.statusCode, 200);
  assert.equal(own.json().hours[0].customersL, 7777, "bergen's own Z1");
  assert.equal((await get(`/v1/zones/Z1/balance?${range}`, OPS_TOKEN)).json().code, 'TENANT_REQUIRED');
  assert.equal((await get(`/v1/zones/Z1/balance?tenant=oslo&${range}`, OPS_TOKEN)).json().hours[0].balanceL, 800);
});

test('the range is bounded and ordered', async () => {
  const at = (ms: number) => new Date(ms).toISOString();
  const reversed = await get(`/v1/zones/Z1/balance?from=${at(start)}&to=${at(start - H)}`);
  assert.equal(reversed.statusCode, 400);
  assert.equal(reversed.json().code, 'BAD_RANGE');
  const long = await get(`/v1/zones/Z1/balance?from=${at(start - 94 * 86_400_000)}&to=${at(start)}`);
  assert.equal(long.json().code, 'BAD_RANGE');
  assert.equal((await get(`/v1/zones/Z1/balance?from=yesterday`)).statusCode, 400);
});

test('every district of the tenants the token reads, summed over the hours with every inflow meter in full', async () => {
  const r = await get(`/v1/balances?${range}`);
  assert.equal(r.statusCode, 200, r.body);
  // Hours 1-3 are complete (both inflow meters in full), the fourth has no data at all.
  assert.deepEqual(r.json().zones, [
    {
      tenant: 'oslo',
      zoneId: 'Z1',
      inflowMeters: 2,
      customerMeters: 4,
      completeHours: 3,
      incompleteHours: 1,
      inflowL: 3000,
      customersL: 550,
      balanceL: 2450,
      lossPercent: (100 * 2450) / 3000,
      customerCoverage: (1 + 0.75 + 0.75) / 3,
    },
  ]);
  assert.ok(!r.body.includes('BULK') && !r.body.includes(bulk1), 'no meter, raw or pseudonymised');
  const bergen = (await get(`/v1/balances?${range}`, BERGEN_TOKEN)).json().zones;
  assert.deepEqual(
    bergen.map((z: { tenant: string; customersL: number }) => [z.tenant, z.customersL]),
    [['bergen', 0]],
    "bergen's own Z1 only: its inflow meter sent nothing, so no hour is complete",
  );
  const ops = (await get(`/v1/balances?${range}`, OPS_TOKEN)).json().zones;
  assert.deepEqual(
    ops.map((z: { tenant: string }) => z.tenant),
    ['bergen', 'oslo'],
  );
  assert.equal((await get('/v1/balances?from=yesterday')).statusCode, 400);
});
