import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Access,
  createClickHouse,
  sha256Hex,
  createHttpServer,
  createLogger,
  createRegistry,
  loadConfig,
  migrate,
} from '@meterstream/core';
import { utcDaysAgo } from '@meterstream/core/testing';
import { registerHourlyRoute } from './hourly.route.js';

const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-route-')) });
const clickhouse = await createClickHouse(config.clickhouse);
after(() => clickhouse.close());
const db = 'route';
await migrate(clickhouse, { database: db, retention: config.retention });
const meter = 'ab'.repeat(16);
// A day relative to today, inside readings_hourly's retention whatever the date.
const day = utcDaysAgo(3);
const H = 3_600_000;
const chTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const [h10, h11] = [chTime(day + 10 * H), chTime(day + 11 * H)];
await clickhouse.command({
  query: `INSERT INTO ${db}.readings_hourly (tenant, meter, kind, unit, hour, value_sum, value_min, value_max, samples, first_ts, last_ts, coverage, zone_id, version) VALUES
    ('default', '${meter}', 'WATER', 'L', '${h10}', 12.5, 1, 5, 4, '${h10}', '${chTime(day + 10.75 * H)}', 1, 'Z1', 1),
    ('default', '${meter}', 'WATER', 'L', '${h10}', 13.5, 1, 5, 4, '${h10}', '${chTime(day + 10.75 * H)}', 1, 'Z1', 2),
    ('default', '${meter}', 'TEMPERATURE', 'CELSIUS', '${h11}', 9, 4, 5, 2, '${chTime(day + 11 * H + 60_000)}', '${chTime(day + 11.5 * H + 60_000)}', 1, NULL, 1)`,
});
const TOKEN = 'read-token-0123456789abcdef';
const BERGEN = 'bergen-reader-0123456789abcdef';
const app = createHttpServer({
  registry: createRegistry('t'),
  logger: createLogger({ level: 'silent' }),
  readiness: {},
  access: new Access([
    { name: 'default-reader', role: 'read', tenants: ['default'], sha256: sha256Hex(TOKEN) },
    { name: 'bergen-reader', role: 'read', tenants: ['bergen'], sha256: sha256Hex(BERGEN) },
  ]),
});
registerHourlyRoute(app, { clickhouse, database: db });
const auth = { authorization: `Bearer ${TOKEN}` };
const url = `/v1/meters/${meter}/hourly?from=${iso(day)}&to=${iso(day + 24 * H)}`;

test('200: the latest version of each hour, filtered by kind', async () => {
  const all = await app.inject({ url, headers: auth });
  assert.equal(all.statusCode, 200);
  const body = all.json();
  assert.equal(body.rows.length, 2);
  const water = body.rows.find((r: { kind: string }) => r.kind === 'WATER');
  assert.equal(water.valueSum, 13.5, 'FINAL: the higher version wins');
  assert.equal(water.hour, iso(day + 10 * H));
  const empty = await app.inject({
    url: url.replace(iso(day), iso(day - 24 * H)).replace(iso(day + 24 * H), iso(day)),
    headers: auth,
  });
  assert.deepEqual([empty.statusCode, empty.json().rows], [200, []], 'a known meter with no row in the range');
  const temp = await app.inject({ url: `${url}&kind=TEMPERATURE`, headers: auth });
  assert.deepEqual(
    temp.json().rows.map((r: { kind: string }) => r.kind),
    ['TEMPERATURE'],
  );
});

const bad: [string, string, Record<string, string>, number][] = [
  ['missing token', url, {}, 401],
  ['missing token and a bad query (authentication first)', `${url}&kind=STEAM`, {}, 401],
  ["another tenant's token", url, { authorization: `Bearer ${BERGEN}` }, 404],
  ['an unknown meter', url.replace(meter, 'cd'.repeat(16)), auth, 404],
  ['wrong token', url, { authorization: 'Bearer nope-nope-nope-nope' }, 401],
  ['not a pseudonym', '/v1/meters/707057500000000017/hourly', auth, 400],
  ['unknown kind', `${url}&kind=STEAM`, auth, 400],
  ['bad date', '/v1/meters/' + meter + '/hourly?from=yesterday', auth, 400],
  ['from after to', `/v1/meters/${meter}/hourly?from=${iso(day + 24 * H)}&to=${iso(day)}`, auth, 400],
  ['limit too large', `${url}&limit=100000`, auth, 400],
];
for (const [name, u, headers, status] of bad) {
  test(`${status} with a JSON error: ${name}`, async () => {
    const r = await app.inject({ url: u, headers });
    assert.equal(r.statusCode, status);
    assert.equal(typeof r.json().error, 'string');
  });
}

test('403 when no token is configured', async () => {
  const closed = createHttpServer({
    registry: createRegistry('u'),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
  });
  registerHourlyRoute(closed, { clickhouse, database: db });
  assert.equal((await closed.inject({ url, headers: auth })).statusCode, 403);
});
