// The meter erasure route (DELETE /v1/meters/{pseudonym}) and the routes' OpenAPI document,
// on the fixture of test-meter-data.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createLogger } from '../telemetry/logger.js';
import { createRegistry } from '../telemetry/metrics.js';
import { ErasureNotifier } from '../erasure-notifier.js';
import { createHttpServer } from './server.js';
import { registerMeterDataRoutes } from './meter-data.routes.js';
import {
  db,
  clickhouse,
  ADMIN_TOKEN,
  OTHER_ADMIN_TOKEN,
  OWN_ADMIN_TOKEN,
  admin,
  app,
  erasures,
  announced,
  A,
  B,
  chTime,
  base,
  EXPECTED,
  countRows,
  countsOf,
  merges,
} from './test-meter-data.js';

after(() => clickhouse.close());

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
