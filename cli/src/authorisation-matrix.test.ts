/**
 * The authorisation matrix (issue 12): every `/v1` route of `meterstream all` (as
 * `registerHttpRoutes` builds it, read from its OpenAPI document) × every role × the own and
 * another tenant. Two tenants each hold a meter with hourly rows and an alert; each route is
 * asked about oslo's data by tokens of oslo, of bergen, of the operator roles and by no token.
 * A `/v1` route without an entry in `MATRIX` fails the first test.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErasureNotifier,
  createClickHouse,
  createHttpServer,
  createRegistry,
  loadConfig,
  migrate,
  sha256Hex,
} from '@meterstream/core';
import { capturingLogger, testEnv, utcDaysAgo } from '@meterstream/core/testing';
import { SilencesStore } from '@meterstream/notifier';
import { accessOf, registerHttpRoutes } from './http-routes.js';
import { ALL_SERVICES } from './services.js';

const PRINCIPALS = [
  'none',
  'bergen-read',
  'bergen-admin',
  'oslo-read',
  'operator-read',
  'oslo-admin',
  'operator',
] as const;
type Who = (typeof PRINCIPALS)[number];
const tokenOf = (who: Who) => `${who}-token-0123456789abcdefghij`;
const tokens = [
  { name: 'oslo-read', role: 'read', tenants: ['oslo'] },
  { name: 'oslo-admin', role: 'admin', tenants: ['oslo'] },
  { name: 'bergen-read', role: 'read', tenants: ['bergen'] },
  { name: 'bergen-admin', role: 'admin', tenants: ['bergen'] },
  { name: 'operator-read', role: 'operator-read' },
  { name: 'operator', role: 'operator' },
].map((t) => ({ ...t, sha256: sha256Hex(tokenOf(t.name as Who)) }));

const config = loadConfig(
  testEnv({
    METERSTREAM_TOKENS: JSON.stringify(tokens),
    METERSTREAM_TENANT_DETECTORS: JSON.stringify({ oslo: { burstLph: 900 } }),
    METERSTREAM_ZONE_INFLOWS: JSON.stringify({ oslo: { Z1: ['OSLO-BULK-1'] }, bergen: { Z1: ['BERGEN-BULK-1'] } }),
  }),
);
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: db, retention: config.retention });
const silences = new SilencesStore(clickhouse, db);
const app = createHttpServer({
  registry: createRegistry('matrix'),
  logger: capturingLogger().logger,
  readiness: {},
  access: accessOf(config),
});
registerHttpRoutes(app, ALL_SERVICES, {
  config,
  clickhouse,
  erasures: new ErasureNotifier(),
  notifier: { silences, sweep: async () => undefined },
});
after(async () => {
  await app.close();
  await clickhouse.close();
});

const OSLO = 'a1'.repeat(16);
const BERGEN = 'b2'.repeat(16);
const day = utcDaysAgo(1);
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
for (const [tenant, meter] of [
  ['oslo', OSLO],
  ['bergen', BERGEN],
] as const) {
  await clickhouse.insert({
    table: `${db}.readings_hourly`,
    values: [
      {
        tenant,
        meter,
        kind: 'WATER',
        unit: 'L',
        hour: chTime(day),
        value_sum: 1,
        value_min: 1,
        value_max: 1,
        samples: 1,
        first_ts: chTime(day),
        last_ts: chTime(day),
        coverage: 1,
        zone_id: 'Z1',
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
  await clickhouse.insert({
    table: `${db}.invoice_checks`,
    values: [
      {
        invoice_id: `INV-${tenant}`,
        tenant,
        meter,
        kind: 'ELECTRICITY_IMPORT',
        period_start: chTime(day - 7 * 86_400_000),
        period_end: chTime(day),
        billed_quantity: 1,
        unit: 'KWH',
        outcome: 'PENDING',
        reason: 'prices',
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
  await clickhouse.insert({
    table: `${db}.alerts`,
    values: [
      {
        alert_id: `al-${tenant}`,
        dedup_key: `dk-${tenant}`,
        type: 'NIGHT_FLOW',
        status: 'FIRING',
        severity: 'WARNING',
        tenant,
        meter,
        zone_id: 'Z1',
        starts_at: chTime(day),
        ends_at: null,
        summary: '',
        details: {},
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
}
const osloSilence = await silences.create(
  {
    matchers: [{ name: 'tenant', value: 'oslo', isRegex: false, isEqual: true }],
    startsAt: Date.now(),
    endsAt: Date.now() + 86_400_000,
    createdBy: 'test',
    comment: 'maintenance',
  },
  Date.now(),
);

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  payload?: object;
}
/** One route's row: the request about oslo's data, and whether an answer shows oslo's data. */
interface Entry {
  admin: boolean;
  /** The route reads one of oslo's things (404 for others), or lists (200 without oslo's data). */
  scope: 'item' | 'list';
  request: Request;
  /** For lists: true when the body holds oslo's data. */
  showsOslo?: (body: string) => boolean;
}
const MATRIX: Record<string, Entry> = {
  'GET /v1/meters/{pseudonym}/hourly': {
    admin: false,
    scope: 'item',
    request: { method: 'GET', url: `/v1/meters/${OSLO}/hourly?from=${new Date(day - 86_400_000).toISOString()}` },
  },
  'GET /v1/alerts': {
    admin: false,
    scope: 'list',
    request: { method: 'GET', url: '/v1/alerts' },
    showsOslo: (b) => b.includes(OSLO),
  },
  'GET /v1/zones': {
    admin: false,
    scope: 'list',
    request: { method: 'GET', url: '/v1/zones' },
    showsOslo: (b) => b.includes('"oslo"'),
  },
  'GET /v1/zones/{zone}/balance': {
    admin: false,
    scope: 'item',
    request: {
      method: 'GET',
      url: `/v1/zones/Z1/balance?tenant=oslo&from=${new Date(day - 86_400_000).toISOString()}`,
    },
  },
  'GET /v1/balances': {
    admin: false,
    scope: 'list',
    request: { method: 'GET', url: '/v1/balances' },
    showsOslo: (b) => b.includes('"oslo"'),
  },
  'GET /v1/invoice-checks': {
    admin: false,
    scope: 'list',
    request: { method: 'GET', url: '/v1/invoice-checks' },
    showsOslo: (b) => b.includes(OSLO),
  },
  'GET /v1/detectors': {
    admin: false,
    scope: 'list',
    request: { method: 'GET', url: '/v1/detectors' },
    showsOslo: (b) => b.includes('"oslo"'),
  },
  'GET /v1/meters/{pseudonym}/export': {
    admin: true,
    scope: 'item',
    request: { method: 'GET', url: `/v1/meters/${OSLO}/export` },
  },
  'POST /v1/alerts/{id}/ack': {
    admin: true,
    scope: 'item',
    request: { method: 'POST', url: '/v1/alerts/dk-oslo/ack', payload: { by: 'on call' } },
  },
  'GET /v1/silences': {
    admin: true,
    scope: 'list',
    request: { method: 'GET', url: '/v1/silences' },
    showsOslo: (b) => b.includes(osloSilence.id),
  },
  'POST /v1/silences': {
    admin: true,
    scope: 'item',
    request: {
      method: 'POST',
      url: '/v1/silences',
      payload: {
        matchers: [{ name: 'tenant', value: 'oslo' }],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        createdBy: 'test',
        comment: 'works',
      },
    },
  },
  'DELETE /v1/silences/{id}': {
    admin: true,
    scope: 'item',
    request: { method: 'DELETE', url: `/v1/silences/${osloSilence.id}` },
  },
  // Last: it erases oslo's meter (repeating an erasure is 200 again).
  'DELETE /v1/meters/{pseudonym}': {
    admin: true,
    scope: 'item',
    request: { method: 'DELETE', url: `/v1/meters/${OSLO}` },
  },
  // After the erasure: lets oslo's erased meter in again (repeatable, each one recorded).
  'POST /v1/meters/{pseudonym}/unblock': {
    admin: true,
    scope: 'item',
    request: { method: 'POST', url: `/v1/meters/${OSLO}/unblock` },
  },
};

/** What `who` gets from a route about oslo's data. */
function expected(entry: Entry, who: Who): { status: number; showsOslo?: boolean } {
  if (who === 'none') return { status: 401 };
  const isAdmin = who === 'operator' || who.endsWith('-admin');
  if (entry.admin && !isAdmin) return { status: 403 };
  const ok = entry.request.method === 'POST' ? 201 : 200;
  const ownTenant = who.startsWith('oslo') || who.startsWith('operator');
  if (entry.scope === 'list') return { status: ok, showsOslo: ownTenant };
  // A tenant's admin may not silence another tenant: refused as forbidden, not as unknown.
  if (!ownTenant && entry.request.url === '/v1/silences' && entry.request.method === 'POST') return { status: 403 };
  return { status: ownTenant ? ok : 404 };
}

test('every /v1 route of meterstream all has an entry in the matrix, and every entry a route', async () => {
  const doc = (await app.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(routes, Object.keys(MATRIX).sort());
});

for (const [route, entry] of Object.entries(MATRIX)) {
  test(`${route}: role × tenant`, async () => {
    for (const who of PRINCIPALS) {
      const want = expected(entry, who);
      const r = await app.inject({
        method: entry.request.method,
        url: entry.request.url,
        payload: entry.request.payload,
        headers: who === 'none' ? {} : { authorization: `Bearer ${tokenOf(who)}` },
      });
      assert.equal(r.statusCode, want.status, `${route} as ${who}: ${r.body.slice(0, 300)}`);
      assert.match(String(r.headers['content-type']), /json|csv/, `${route} as ${who}: a JSON body`);
      if (want.showsOslo !== undefined)
        assert.equal(entry.showsOslo!(r.body), want.showsOslo, `${route} as ${who} shows oslo's data`);
      if (want.status >= 400) assert.ok(!r.body.includes(OSLO), `${route} as ${who}: no oslo data in an error`);
    }
  });
}

test('authentication before validation on every /v1 route: a bad request without a token is 401', async () => {
  for (const [route, entry] of Object.entries(MATRIX)) {
    const r = await app.inject({
      method: entry.request.method,
      url: `${entry.request.url.replace(OSLO, 'NOT-A-PSEUDONYM')}${entry.request.url.includes('?') ? '&' : '?'}bogus=1`,
      payload: entry.request.payload === undefined ? undefined : { bogus: true },
    });
    assert.equal(r.statusCode, 401, route);
  }
});

test("a token sees only its tenants' meters in other tenants' lists too: bergen's alert is not oslo's", async () => {
  const r = await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${tokenOf('oslo-read')}` } });
  assert.ok(!r.body.includes(BERGEN));
});
