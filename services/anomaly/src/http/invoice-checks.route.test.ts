import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Access,
  createClickHouse,
  createHttpServer,
  createLogger,
  createRegistry,
  migrate,
  sha256Hex,
} from '@meterstream/core';
import { testConfig, utcDaysAgo } from '@meterstream/core/testing';
import { registerInvoiceCheckRoutes } from './invoice-checks.route.js';

const config = testConfig();
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: db, retention: config.retention });
const D = 86_400_000;
const OSLO_TOKEN = 'oslo-read-token-0123456789abcdef';
const OPS_TOKEN = 'operator-read-token-0123456789abcdef';
const app = createHttpServer({
  registry: createRegistry('t'),
  logger: createLogger({ level: 'silent' }),
  readiness: {},
  access: new Access([
    { name: 'oslo', role: 'read', tenants: ['oslo'], sha256: sha256Hex(OSLO_TOKEN) },
    { name: 'ops', role: 'operator-read', tenants: null, sha256: sha256Hex(OPS_TOKEN) },
  ]),
});
registerInvoiceCheckRoutes(app, { clickhouse, database: db });
after(async () => {
  await app.close();
  await clickhouse.close();
});

const end = utcDaysAgo(2);
const row = (invoice: string, tenant: string, outcome: string, reason: string, periodEnd = end) => ({
  invoice_id: invoice,
  tenant,
  meter: (tenant === 'oslo' ? 'a' : 'b').repeat(32),
  kind: 'ELECTRICITY_IMPORT',
  period_start: new Date(periodEnd - 7 * D).toISOString(),
  period_end: new Date(periodEnd).toISOString(),
  billed_quantity: 100,
  metered_quantity: outcome === 'PENDING' ? null : 100,
  unit: 'KWH',
  coverage: 1,
  outcome,
  version: 1,
  amount: 150,
  currency: 'NOK',
  price_area: 'NO1',
  expected_amount: reason === 'amount' ? 120 : null,
  price_coverage: reason === 'prices' ? 0.5 : 1,
  reason,
});
await clickhouse.insert({
  table: `${db}.invoice_checks`,
  values: [
    row('INV-oslo-pending', 'oslo', 'PENDING', 'prices'),
    row('INV-oslo-amount', 'oslo', 'MISMATCH', 'amount', end - D),
    row('INV-oslo-old', 'oslo', 'MATCH', '', end - 60 * D),
    row('INV-bergen', 'bergen', 'INSUFFICIENT_DATA', 'prices'),
  ],
  format: 'JSONEachRow',
  clickhouse_settings: { date_time_input_format: 'best_effort' },
});

const get = async (url: string, token = OSLO_TOKEN) => {
  const r = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
  return { status: r.statusCode, body: r.json() as { checks: Record<string, unknown>[] } };
};
const ids = (b: { checks: Record<string, unknown>[] }) => b.checks.map((c) => c.invoiceId);

test('/v1/invoice-checks: PENDING and INSUFFICIENT_DATA are shown with their reason, newest period first, for the token tenants only', async () => {
  const r = await get('/v1/invoice-checks');
  assert.equal(r.status, 200);
  assert.deepEqual(
    ids(r.body),
    ['INV-oslo-pending', 'INV-oslo-amount'],
    'bergen hidden, the 60-day-old one outside the default window',
  );
  assert.deepEqual(
    { ...r.body.checks[0], checkedAt: undefined },
    {
      invoiceId: 'INV-oslo-pending',
      tenant: 'oslo',
      meter: 'a'.repeat(32),
      kind: 'ELECTRICITY_IMPORT',
      periodStart: new Date(end - 7 * D).toISOString(),
      periodEnd: new Date(end).toISOString(),
      billedQuantity: 100,
      meteredQuantity: null,
      unit: 'KWH',
      coverage: 1,
      amount: 150,
      currency: 'NOK',
      priceArea: 'NO1',
      expectedAmount: null,
      priceCoverage: 0.5,
      outcome: 'PENDING',
      reason: 'prices',
      checkedAt: undefined,
    },
  );
  assert.equal(r.body.checks[1].expectedAmount, 120);
  const ops = await get('/v1/invoice-checks?status=INSUFFICIENT_DATA', OPS_TOKEN);
  assert.deepEqual(ids(ops.body), ['INV-bergen']);
  assert.deepEqual(ids((await get('/v1/invoice-checks?tenant=bergen')).body), [], "another tenant's checks: none");
  assert.deepEqual(ids((await get('/v1/invoice-checks?status=MISMATCH')).body), ['INV-oslo-amount']);
});

test('/v1/invoice-checks: since widens the window, limit bounds it, bad values are 400', async () => {
  const since = new Date(end - 90 * D).toISOString();
  assert.deepEqual(ids((await get(`/v1/invoice-checks?since=${since}`)).body), [
    'INV-oslo-pending',
    'INV-oslo-amount',
    'INV-oslo-old',
  ]);
  assert.deepEqual(ids((await get(`/v1/invoice-checks?since=${since}&limit=1`)).body), ['INV-oslo-pending']);
  for (const bad of ['limit=1001', 'status=LATE', 'since=yesterday'])
    assert.equal((await get(`/v1/invoice-checks?${bad}`)).status, 400, bad);
  const anonymous = await app.inject({ url: '/v1/invoice-checks' });
  assert.equal(anonymous.statusCode, 401);
});
