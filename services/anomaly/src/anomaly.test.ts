/**
 * The anomaly service on the real broker and embedded ClickHouse, behind the real ingestor and
 * aggregator: each kind of alert fires once with its evidence and resolves; an invoice that
 * arrives before its meter data is PENDING and is decided when the data comes; a restart with
 * every input delivered again publishes nothing twice; corrected readings resolve the leak
 * they had raised; no raw meter ID reaches the alerts, the tables or the logs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Access,
  createHttpServer,
  createLogger,
  createRegistry,
  sha256Hex,
  createClickHouse,
  eraseMeter,
  pseudonymOf,
  type Alert,
  type ClickHouseClient,
  type MeterReadingBatch,
  type Invoice,
  DLQ_HEADERS,
} from '@meterstream/core';
import { produce, readAll, testConfig, waitFor } from '@meterstream/core/testing';
import { registerAlertRoutes } from './http/alerts.route.js';
import { hourlyWaterBatches, quiet, startPipeline, TEST_KEY as key } from './test-pipeline.js';

const H = 3_600_000;
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

const END = Math.floor(Date.now() / H) * H - 2 * H;
const DAY0 = END - 6 * 24 * H;

const waterBatches = (m: string, litres: (i: number) => number, days?: number, zone?: string, q?: 'CORRECTED') =>
  hourlyWaterBatches(DAY0, m, litres, days, zone, q);

test('alerts: fire once with evidence, resolve, survive restart and redelivery, follow corrections; raw IDs stay out', async (t) => {
  // Readings up to 4 days ahead are accepted, so the erasure check below can move data time on.
  const pipeline = await startPipeline(
    clickhouse,
    { METERSTREAM_ANOMALY_CONCURRENCY: '1', METERSTREAM_MAX_FUTURE_SECONDS: String(4 * 86400) },
    2,
  );
  const { config, kafka, codec, lines, erasures } = pipeline;

  const LEAK = 'WM-LEAK-0001',
    BURST = 'WM-BURST-0002',
    NORMAL = 'WM-NORMAL-0003',
    SILENT = 'WM-SILENT-0004',
    ROOM = 'TS-ROOM-0005',
    POWER = '707057500000000017';
  const p = (m: string) => pseudonymOf(key, 'default', m);
  const leakLitres = (i: number) => quiet(i) + (i >= 24 ? 30 : 0); // from day 1 on: 30 L/h more, every hour
  const readings: { key: string; value: Buffer }[] = [];
  // Each batch is delivered on the day of its last reading, so silence is judged by delivery.
  const dayOf: number[] = [];
  const put = (b: MeterReadingBatch) => {
    readings.push({ key: b.meterId, value: codec.encodeSingleObject('MeterReadingBatch', b) });
    dayOf.push(Math.floor((b.readings[b.readings.length - 1].ts - DAY0) / (24 * H)));
  };
  waterBatches(LEAK, leakLitres).forEach(put);
  waterBatches(BURST, (i) => (i === 3 * 24 + 12 ? 900 : quiet(i))).forEach(put);
  waterBatches(NORMAL, quiet).forEach(put);
  waterBatches(SILENT, quiet, 2).forEach(put); // stops after day 2 of 6
  // A pump room: 12 °C, cooling to 1.5 °C on day 4, warm again on day 5. Every 10 minutes.
  const temps = [];
  for (let ts = DAY0; ts < END; ts += 600_000) {
    const h = (ts - DAY0) / H;
    const c = h < 96 ? 12 : h < 104 ? 12 - (h - 96) * 1.3 : h < 116 ? 1.5 : h < 120 ? 1.5 + (h - 116) * 2.5 : 12;
    temps.push({ ts, value: Math.round(c * 10) / 10, quality: 'MEASURED' as const });
  }
  put({
    meterId: ROOM,
    tenant: 'default',
    kind: 'TEMPERATURE',
    unit: 'CELSIUS',
    readingType: 'INSTANT',
    intervalSeconds: 0,
    zoneId: 'pump-room-A',
    priceArea: null,
    readings: temps,
  });
  // Electricity: 1 kWh every quarter hour for days 0-2; the week's data arrives after its invoice.
  const power = (from: number, to: number): MeterReadingBatch => {
    const rs = [];
    for (let ts = from; ts < to; ts += 900_000) rs.push({ ts, value: 1, quality: 'MEASURED' as const });
    return {
      meterId: POWER,
      tenant: 'default',
      kind: 'ELECTRICITY_IMPORT',
      unit: 'KWH',
      readingType: 'INTERVAL',
      intervalSeconds: 900,
      zoneId: null,
      priceArea: 'NO1',
      readings: rs,
    };
  };
  put(power(DAY0, DAY0 + 24 * H));
  const invoice = (invoiceId: string, billed: number): Invoice => ({
    invoiceId,
    tenant: 'default',
    meterId: POWER,
    kind: 'ELECTRICITY_IMPORT',
    periodStart: DAY0,
    periodEnd: DAY0 + 48 * H,
    billedQuantity: billed,
    unit: 'KWH',
    amount: null,
    currency: null,
    priceArea: 'NO1',
  });
  const invoices = [
    { key: POWER, value: codec.encodeSingleObject('Invoice', invoice('INV-OK', 192)) },
    { key: POWER, value: codec.encodeSingleObject('Invoice', invoice('INV-HIGH', 250)) },
    { key: POWER, value: Buffer.from('not avro at all') },
  ];

  const settle = () => pipeline.settle();
  const alerts = () => pipeline.alerts();
  const checks = async () => {
    const rs = await clickhouse.query({
      query: `SELECT invoice_id, outcome, metered_quantity FROM ${config.clickhouse.database}.invoice_checks FINAL ORDER BY invoice_id`,
      format: 'JSONEachRow',
    });
    return rs.json<{ invoice_id: string; outcome: string; metered_quantity: number | null }>();
  };

  try {
    for (let day = 0; day < 6; day++) {
      await produce(
        kafka,
        config.topics.readings,
        readings.filter((_, i) => dayOf[i] === day),
      );
      if (day === 0) await produce(kafka, config.topics.invoices, invoices);
      await settle();
    }
    // The invoices arrived with one day of the two metered: PENDING, not a mismatch.
    await waitFor(
      'pending invoice checks',
      async () => (await checks()).length === 2 && (await checks()).every((c) => c.outcome === 'PENDING'),
    );
    // The second day arrives late: both invoices are decided.
    await produce(kafka, config.topics.readings, [
      { key: POWER, value: codec.encodeSingleObject('MeterReadingBatch', power(DAY0 + 24 * H, DAY0 + 48 * H)) },
    ]);
    await settle();
    const decided = await waitFor('decided invoices', async () => {
      const c = await checks();
      return c.every((x) => x.outcome !== 'PENDING') && c;
    });
    assert.deepEqual(
      decided.map((c) => [c.invoice_id, c.outcome, c.metered_quantity]),
      [
        ['INV-HIGH', 'MISMATCH', 192],
        ['INV-OK', 'MATCH', 192],
      ],
    );

    let got = await alerts();
    const summary = (as: Alert[]) =>
      as
        .map(
          (a) =>
            `${a.type}:${a.status}:${a.severity}:${a.meter === p(LEAK) ? 'leak' : a.meter === p(BURST) ? 'burst' : a.meter === p(ROOM) ? 'room' : a.meter === p(SILENT) ? 'silent' : a.meter === p(POWER) ? 'power' : a.meter}`,
        )
        .sort();
    t.diagnostic(summary(got).join(', '));
    const firing = (type: string, m: string) =>
      got.filter((a) => a.type === type && a.meter === p(m) && a.status === 'FIRING');
    assert.equal(new Set(firing('NIGHT_FLOW', LEAK).map((a) => a.dedupKey)).size >= 1, true, 'the leak fires');
    assert.equal(firing('BURST', BURST).length, 1, 'the burst fires once');
    assert.equal(firing('BURST', BURST)[0].severity, 'CRITICAL');
    assert.ok(
      got.some((a) => a.type === 'BURST' && a.status === 'RESOLVED'),
      'the burst resolves the next hour',
    );
    assert.deepEqual(
      firing('FROST_RISK', ROOM).map((a) => a.severity),
      ['WARNING', 'CRITICAL'],
      'frost warns, then escalates',
    );
    const frostResolved = got.filter((a) => a.type === 'FROST_RISK' && a.status === 'RESOLVED');
    assert.equal(frostResolved.length, 1, 'one all-clear');
    assert.ok(frostResolved[0].details.celsius >= 8);
    assert.equal(firing('METER_SILENT', SILENT).length, 1, 'the silent meter is noticed');
    assert.equal(firing('INVOICE_MISMATCH', POWER).length, 1, 'the wrong invoice, once');
    assert.equal(firing('INVOICE_MISMATCH', POWER)[0].details.billed, 250);
    assert.equal(got.filter((a) => a.meter === p(NORMAL)).length, 0, 'the normal household is quiet');
    const leak = firing('NIGHT_FLOW', LEAK);
    assert.ok(leak.every((a) => a.zoneId === 'zone-7'));
    for (const a of got)
      assert.ok(a.startsAt > 0 && a.summary.length > 0 && Object.keys(a.details).length > 0, `evidence on ${a.type}`);
    // The bad invoice went to the DLQ with its reason.
    const dlq = await readAll(kafka, config.topics.dlq);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0].headers[DLQ_HEADERS.topic]?.toString(), config.topics.invoices);
    assert.ok(dlq[0].headers[DLQ_HEADERS.reason]);

    // Restart the anomaly service and deliver every input again: nothing is published twice.
    const before = got.length;
    await pipeline.restartAnomaly();
    await produce(kafka, config.topics.readings, readings);
    await produce(kafka, config.topics.invoices, invoices.slice(0, 2));
    await settle();
    got = await alerts();
    assert.equal(got.length, before, `no alert twice after a restart and a redelivery: ${summary(got).join(', ')}`);
    assert.equal(new Set(got.map((a) => a.alertId)).size, got.length);

    // Corrections: the leak's litres were a meter fault; corrected readings remove them.
    await produce(
      kafka,
      config.topics.readings,
      waterBatches(LEAK, quiet, 6, 'zone-7', 'CORRECTED').map((b) => ({
        key: LEAK,
        value: codec.encodeSingleObject('MeterReadingBatch', b),
      })),
    );
    await settle();
    got = await alerts();
    const resolved = await waitFor('leak resolved', async () =>
      (await alerts()).filter((a) => a.type === 'NIGHT_FLOW' && a.meter === p(LEAK) && a.status === 'RESOLVED'),
    );
    assert.ok(resolved.length >= 1);
    const open = new Set(
      got.filter((a) => a.type === 'NIGHT_FLOW' && a.meter === p(LEAK) && a.status === 'FIRING').map((a) => a.dedupKey),
    );
    for (const k of open)
      assert.ok(
        resolved.some((r) => r.dedupKey === k),
        'every leak episode resolved',
      );
    assert.ok(resolved.some((r) => r.details.corrected === 1 || /quiet|zero-flow/.test(r.summary)));

    // The API.
    const app = createHttpServer({
      registry: createRegistry('api'),
      logger: createLogger({ level: 'silent' }),
      readiness: {},
      access: new Access([
        { name: 'reader', role: 'read', tenants: ['default'], sha256: sha256Hex('test-token-0123456789abcdef') },
      ]),
    });
    registerAlertRoutes(app, { clickhouse, database: config.clickhouse.database });
    const auth = { authorization: 'Bearer test-token-0123456789abcdef' };
    const frost = await app.inject({ url: `/v1/alerts?type=FROST_RISK&meter=${p(ROOM)}`, headers: auth });
    assert.equal(frost.statusCode, 200);
    assert.equal(frost.json().alerts.length, 1);
    assert.equal(frost.json().alerts[0].status, 'RESOLVED');
    const zone = await app.inject({ url: '/v1/alerts?zone=zone-7&status=RESOLVED', headers: auth });
    assert.ok(zone.json().alerts.length >= 2);
    const zones = await app.inject({ url: '/v1/zones', headers: auth });
    assert.equal(zones.statusCode, 200);
    assert.equal((await app.inject({ url: '/v1/alerts' })).statusCode, 401);
    const wrong = await app.inject({ url: '/v1/alerts', headers: { authorization: 'Bearer not-the-token-at-all' } });
    assert.equal(wrong.statusCode, 401);
    assert.ok(wrong.json().error, 'a JSON error body');
    assert.equal((await app.inject({ url: '/v1/zones?type=FLOOD', headers: auth })).statusCode, 400);
    assert.equal((await app.inject({ url: '/v1/zones' })).statusCode, 401);
    assert.equal((await app.inject({ url: '/v1/alerts?meter=NOT-A-PSEUDONYM', headers: auth })).statusCode, 400);
    const bad = await app.inject({ url: '/v1/alerts?type=FLOOD', headers: auth });
    assert.equal(bad.statusCode, 400);
    assert.ok(bad.json().error);
    assert.equal((await app.inject({ url: '/v1/alerts?since=yesterday', headers: auth })).statusCode, 400);
    await app.close();

    // Privacy: raw IDs nowhere downstream.
    const raw = [LEAK, BURST, NORMAL, SILENT, ROOM, POWER];
    const topicBytes = (await readAll(kafka, config.topics.alerts))
      .map((r) => `${r.key}${r.value?.toString('latin1')}`)
      .join('');
    for (const table of ['alerts', 'invoice_checks', 'anomaly_state']) {
      const rs = await clickhouse.query({
        query: `SELECT * FROM ${config.clickhouse.database}.${table}`,
        format: 'TabSeparated',
      });
      const text = await rs.text();
      for (const m of raw) assert.ok(!text.includes(m), `${m} in ${table}`);
    }
    // Invoice IDs name a customer's account: kept in invoice_checks (bookkeeping), never in an alert.
    const alertRows = await (
      await clickhouse.query({ query: `SELECT * FROM ${config.clickhouse.database}.alerts`, format: 'TabSeparated' })
    ).text();
    assert.match(alertRows, /INVOICE_MISMATCH/, 'the mismatch alert is there to be scanned');
    for (const id of ['INV-OK', 'INV-HIGH']) {
      assert.ok(!topicBytes.includes(id), `${id} on the alerts topic`);
      assert.ok(!alertRows.includes(id), `${id} in the alerts table`);
    }
    for (const m of raw) {
      assert.ok(!topicBytes.includes(m), `${m} on the alerts topic`);
      assert.ok(!lines.some((l) => l.includes(m)), `${m} in a log line`);
    }

    // Erasure: the pump room in this process (announced to the service), the burst meter as if
    // erased by another process (audit row and deletes only; the service polls the audit).
    // Then data time moves four days on: every meter left behind falls silent, and an erased
    // meter's remembered state must not come back as an alert or a state row.
    const db = config.clickhouse.database;
    const alertsBefore = new Set((await alerts()).map((a) => a.alertId));
    await eraseMeter(clickhouse, db, p(ROOM), { actor: 'test', tenant: 'default' }, erasures);
    for (const table of ['alerts', 'anomaly_state', 'readings_raw', 'readings_hourly', 'invoice_checks']) {
      await clickhouse.command({
        query: `DELETE FROM ${db}.${table} WHERE meter = {m:String}`,
        query_params: { m: p(BURST) },
      });
    }
    await clickhouse.insert({
      table: `${db}.erasure_audit`,
      values: [
        {
          pseudonym: p(BURST),
          erased_at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
          actor: 'other-process',
          deleted: {},
        },
      ],
      format: 'JSONEachRow',
    });
    await new Promise((r) => setTimeout(r, 2000)); // a few sweeps (500 ms in the test pipeline)
    // 16 meters deliver a day at a time for four days (one delivery of days would be a
    // backfill, which judges no one); silence is judged once half of them delivered twice.
    const ahead: { key: string; value: Buffer }[][] = [[], [], [], []];
    for (let i = 0; i < 64; i++) {
      const id = `WM-AHEAD-${i % 16}`;
      const day = Math.floor(i / 16);
      const readings = Array.from({ length: 24 }, (_, h) => ({
        ts: END + (day * 24 + h) * H,
        value: quiet(h),
        quality: 'MEASURED' as const,
      }));
      ahead[day].push({
        key: id,
        value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId: id,
          tenant: 'default',
          kind: 'WATER',
          unit: 'L',
          readingType: 'INTERVAL',
          intervalSeconds: 3600,
          zoneId: null,
          priceArea: null,
          readings,
        }),
      });
    }
    for (const round of ahead) {
      await produce(kafka, config.topics.readings, round);
      await settle();
    }
    const newAlerts = (await alerts()).filter((a) => !alertsBefore.has(a.alertId));
    assert.ok(
      newAlerts.some((a) => a.type === 'METER_SILENT' && a.meter === p(NORMAL)),
      'data time moved on: the meters left behind fell silent',
    );
    for (const m of [ROOM, BURST]) {
      assert.equal(newAlerts.filter((a) => a.meter === p(m)).length, 0, `no alert for the erased ${m}`);
      for (const table of ['alerts', 'anomaly_state']) {
        const rs = await clickhouse.query({
          query: `SELECT count() AS n FROM ${db}.${table} WHERE meter = {m:String}`,
          query_params: { m: p(m) },
          format: 'JSONEachRow',
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        });
        assert.equal((await rs.json<{ n: number }>())[0].n, 0, `${table} holds nothing of the erased ${m}`);
      }
    }
  } finally {
    await pipeline.close();
  }
});

test('the anomaly service listens for erasures in its process while it runs', async () => {
  const { ErasureNotifier, createRegistry: registry } = await import('@meterstream/core');
  const { testKafka, capturingLogger: cl } = await import('@meterstream/core/testing');
  const { AnomalyService } = await import('./anomaly.js');
  const erasures = new ErasureNotifier();
  const config = testConfig();
  const service = new AnomalyService({
    config,
    pseudonymKey: key,
    kafka: testKafka(),
    clickhouse,
    registry: registry('x'),
    logger: cl().logger,
    erasures,
  });
  assert.equal(erasures.listenerCount, 1);
  await service.close();
  assert.equal(erasures.listenerCount, 0);
});
