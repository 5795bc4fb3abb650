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
import { registerAlertRoutes } from './alerts.route.js';

const config = testConfig();
const db = config.clickhouse.database;
const clickhouse = await createClickHouse(config.clickhouse);
after(() => clickhouse.close());

test('/v1/zones: zones are per tenant, equal zone IDs of two tenants are not merged', async () => {
  await migrate(clickhouse, { database: db, retention: config.retention });
  const start = utcDaysAgo(1);
  const row = (tenant: string, meter: string, zone: string, type: string) => ({
    alert_id: `${tenant}-${meter}-${type}`,
    dedup_key: `${tenant}-${meter}-${type}`,
    type,
    status: 'FIRING',
    severity: 'WARNING',
    tenant,
    meter,
    zone_id: zone,
    starts_at: new Date(start).toISOString(),
    ends_at: null,
    summary: '',
    details: {},
    version: 1,
  });
  await clickhouse.insert({
    table: `${db}.alerts`,
    values: [
      row('oslo', 'a'.repeat(32), 'Z1', 'NIGHT_FLOW'),
      row('oslo', 'b'.repeat(32), 'Z1', 'NIGHT_FLOW'),
      row('bergen', 'c'.repeat(32), 'Z1', 'NIGHT_FLOW'),
      row('bergen', 'c'.repeat(32), 'Z1', 'METER_SILENT'),
    ],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  const app = createHttpServer({
    registry: createRegistry('t'),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
    access: new Access([
      { name: 'ops', role: 'operator-read', tenants: null, sha256: sha256Hex('test-token-0123456789abcdef') },
    ]),
  });
  registerAlertRoutes(app, { clickhouse, database: db });
  const res = await app.inject({ url: '/v1/zones', headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().zones, [
    { tenant: 'bergen', zoneId: 'Z1', firing: { METER_SILENT: 1, NIGHT_FLOW: 1 } },
    { tenant: 'oslo', zoneId: 'Z1', firing: { NIGHT_FLOW: 2 } },
  ]);
  await app.close();
});
