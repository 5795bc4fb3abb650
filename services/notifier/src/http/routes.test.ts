/**
 * The notifier's routes through `inject()`: OpenAPI documents them, the admin token guards them,
 * bad requests get 4xx JSON errors, and an acknowledgement is stored with who, when and note.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Access, createClickHouse, createHttpServer, createRegistry, migrate, sha256Hex } from '@meterstream/core';
import { capturingLogger, testConfig } from '@meterstream/core/testing';
import { AcksStore } from '../state/acks.store.js';
import { SilencesStore } from '../state/silences.store.js';
import { registerAckRoute } from './ack.route.js';
import { registerSilenceRoutes } from './silences.route.js';

const ADMIN = 'admin-token-0123456789';
const config = testConfig();
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: db, retention: config.retention });
const app = createHttpServer({
  registry: createRegistry('notifier'),
  logger: capturingLogger().logger,
  readiness: {},
  access: new Access([{ name: 'admin-token', role: 'operator', tenants: null, sha256: sha256Hex(ADMIN) }]),
});
registerAckRoute(app, { acks: new AcksStore(clickhouse, db) });
registerSilenceRoutes(app, { silences: new SilencesStore(clickhouse, db) });
after(async () => {
  await app.close();
  await clickhouse.close();
});
const auth = { authorization: `Bearer ${ADMIN}` };

test('OpenAPI documents the ack and silence routes, behind the bearer token', async () => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
  };
  for (const [path, method] of [
    ['/v1/alerts/{id}/ack', 'post'],
    ['/v1/silences', 'post'],
    ['/v1/silences', 'get'],
    ['/v1/silences/{id}', 'delete'],
  ]) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method} ${path} documented`);
    assert.deepEqual(op.security, [{ bearerAuth: [] }]);
    assert.ok(op.responses['401'] && op.responses['403'], `${method} ${path}: 401/403 documented`);
  }
});

test('an ack needs the admin token, names a known alert, and is stored with who, when and note', async () => {
  assert.equal((await app.inject({ method: 'POST', url: '/v1/alerts/x/ack', payload: { by: 'a' } })).statusCode, 401);
  const unknown = await app.inject({
    method: 'POST',
    url: '/v1/alerts/nope/ack',
    headers: auth,
    payload: { by: 'kari' },
  });
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(unknown.json(), { error: 'no such alert', code: 'NOT_FOUND' });
  const noBy = await app.inject({ method: 'POST', url: '/v1/alerts/nope/ack', headers: auth, payload: {} });
  assert.equal(noBy.statusCode, 400);
  assert.equal((noBy.json() as { code: string }).code, 'FST_ERR_VALIDATION');

  await clickhouse.insert({
    table: `${db}.alerts`,
    values: [
      {
        alert_id: 'a-resolved',
        dedup_key: 'episode-1',
        type: 'BURST',
        status: 'RESOLVED',
        severity: 'CRITICAL',
        tenant: 'oslo',
        meter: 'f'.repeat(32),
        zone_id: null,
        starts_at: Date.now() - 3_600_000,
        ends_at: null,
        summary: 's',
        details: {},
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
  const acked = await app.inject({
    method: 'POST',
    url: '/v1/alerts/episode-1/ack',
    headers: auth,
    payload: { by: 'kari', note: 'valve closed' },
  });
  assert.equal(acked.statusCode, 201, acked.body);
  const body = acked.json() as { dedupKey: string; alertId: string; by: string; note: string; at: string };
  assert.deepEqual(
    [body.dedupKey, body.alertId, body.by, body.note],
    ['episode-1', 'a-resolved', 'kari', 'valve closed'],
  );
  const rs = await clickhouse.query({
    query: `SELECT dedup_key, acked_by, note, meter FROM ${db}.alert_acks`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [
    { dedup_key: 'episode-1', acked_by: 'kari', note: 'valve closed', meter: 'f'.repeat(32) },
  ]);
});

test('bad silences are refused with a JSON error, naming what is wrong', async () => {
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/silences', headers: auth, payload });
  const base = { endsAt: future, createdBy: 'ops', comment: 'maintenance' };
  const cases: [object, RegExp][] = [
    [{ ...base, matchers: [{ name: 'zone', value: '(', isRegex: true }] }, /bad regex/],
    [{ ...base, matchers: [{ name: 'tenant', value: 'oslo', isEqual: false }] }, /non-empty isEqual matcher/],
    [
      {
        ...base,
        startsAt: new Date(Date.now() - 7_200_000).toISOString(),
        endsAt: new Date(Date.now() - 1000).toISOString(),
        matchers: [{ name: 'tenant', value: 'oslo' }],
      },
      /past/,
    ],
    [{ ...base, matchers: [{ name: 'meter', value: 'x' }] }, /must be equal to one of the allowed values/],
  ];
  for (const [payload, message] of cases) {
    const r = await post(payload);
    assert.equal(r.statusCode, 400, r.body);
    assert.match((r.json() as { error: string }).error, message);
  }
  const wrongToken = await app.inject({
    method: 'GET',
    url: '/v1/silences',
    headers: { authorization: 'Bearer nope' },
  });
  assert.equal(wrongToken.statusCode, 401);
  const missing = await app.inject({
    method: 'DELETE',
    url: `/v1/silences/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
    headers: auth,
  });
  assert.equal(missing.statusCode, 404);
});

test('the silence list is bounded: silences ended before `since` (default 30 days) are left out, `limit` bounds it', async () => {
  const store = new SilencesStore(clickhouse, db);
  const now = Date.now();
  const day = 86_400_000;
  const make = (endsAgoDays: number, comment: string) =>
    store.create(
      {
        matchers: [{ name: 'tenant', value: 'bounded', isRegex: false, isEqual: true }],
        startsAt: now - (endsAgoDays + 1) * day,
        endsAt: now - endsAgoDays * day,
        createdBy: 'test',
        comment,
      },
      now,
    );
  await make(40, 'long over');
  await make(2, 'recent');
  const list = async (q: string) => {
    const r = await app.inject({ url: `/v1/silences${q}`, headers: auth });
    assert.equal(r.statusCode, 200, r.body);
    return (r.json() as { silences: { comment: string }[] }).silences.map((s) => s.comment);
  };
  const recent = await list('?status=expired');
  assert.ok(recent.includes('recent') && !recent.includes('long over'), recent.join(', '));
  const older = await list(`?status=expired&since=${new Date(now - 60 * day).toISOString()}`);
  assert.ok(older.includes('long over'), older.join(', '));
  assert.equal((await list('?limit=1')).length, 1);
  const tooMany = await app.inject({ url: '/v1/silences?limit=5000', headers: auth });
  assert.equal(tooMany.statusCode, 400);
});
