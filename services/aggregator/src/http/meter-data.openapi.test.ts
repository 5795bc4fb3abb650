import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClickHouse, createHttpServer, createLogger, createRegistry } from '@meterstream/core';
import { registerMeterDataRoutes } from '@meterstream/core';
import { registerHourlyRoute } from './hourly.route.js';

// Registering routes never talks to ClickHouse: a client for a closed port is enough.
const clickhouse = await createClickHouse({
  url: 'http://127.0.0.1:9',
  user: 'default',
  password: '',
  database: 'unused',
  dataDir: '',
});
after(() => clickhouse.close());

test('/docs/json documents the routes a service adds after createHttpServer: hourly, export, erasure, unblock', async () => {
  // The order of cli's runServices: server first, then the routes, synchronously.
  const app = createHttpServer({
    registry: createRegistry('t'),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
  });
  registerHourlyRoute(app, { clickhouse, database: 'unused' });
  registerMeterDataRoutes(app, { clickhouse, database: 'unused' });
  const r = await app.inject({ url: '/docs/json' });
  assert.equal(r.statusCode, 200);
  const doc = r.json();
  assert.match(doc.openapi, /^3\./);
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    '/healthz',
    '/metrics',
    '/readyz',
    '/v1/meters/{pseudonym}',
    '/v1/meters/{pseudonym}/export',
    '/v1/meters/{pseudonym}/hourly',
    '/v1/meters/{pseudonym}/unblock',
  ]);
  const hourly = doc.paths['/v1/meters/{pseudonym}/hourly'].get;
  assert.deepEqual(hourly.security, [{ bearerAuth: [] }], 'every /v1 route is documented behind the bearer token');
  assert.deepEqual(hourly.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort(), [
    'path:pseudonym',
    'query:from',
    'query:kind',
    'query:limit',
    'query:to',
  ]);
  assert.ok(doc.paths['/v1/meters/{pseudonym}/export'].get);
  assert.ok(doc.paths['/v1/meters/{pseudonym}'].delete);
});
