/**
 * Poison records on the downstream topics (issue 9): tombstones, garbage bytes, a record of a
 * schema this version cannot read (a newer one during a rolling upgrade), valid records of the
 * wrong type, and an invoice and a price of a time no table can store (year 2603: ClickHouse
 * refuses such a DateTime64, which would fail the batch forever), produced onto the clean,
 * hourly, invoices and prices topics while the ingestor, aggregator
 * and anomaly service run in this process on the real broker and the embedded engine. Each lands
 * in the DLQ with its reason and source topic, once per consumer group that reads its topic, and
 * is counted by `meterstream_dlq_messages_total{reason,source}`; the good records before and after
 * are processed (hourly rows exact, alerts published once); every consumer keeps running.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DLQ_HEADERS,
  createClickHouse,
  createHttpServer,
  pseudonymOf,
  type ClickHouseClient,
  type Invoice,
  type MeterReading,
  type MeterReadingBatch,
  type SpotPrice,
} from '@meterstream/core';
import {
  capturingLogger,
  produce,
  readAll,
  testConfig,
  testSeed,
  utcDaysAgo,
  waitFor,
} from '@meterstream/core/testing';
import { assertHourlyExact, generateFleet, type MeterSpec } from '@meterstream/aggregator/test-fleet';
import { startPipeline, TEST_KEY as key } from './test-pipeline.js';

const H = 3_600_000;
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

/** A meter of the scenario: its spec for the reference and its readings as one batch. */
function scenarioMeter(
  spec: Omit<MeterSpec, 'truth'>,
  readings: { ts: number; value: number }[],
): { spec: MeterSpec; batch: MeterReadingBatch } {
  return {
    spec: { ...spec, truth: new Map(readings.map((r) => [r.ts, r.value])) },
    batch: {
      meterId: spec.meterId,
      tenant: 'default',
      kind: spec.kind,
      unit: spec.unit,
      readingType: spec.readingType,
      intervalSeconds: spec.intervalSeconds,
      zoneId: 'zone-poison',
      priceArea: null,
      readings: readings.map((r) => ({ ...r, quality: 'MEASURED' as const })),
    },
  };
}

test('poison records on the clean, hourly, invoices and prices topics: each in the DLQ with its reason, counted, the good records around them processed, consumers ready', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const p = await startPipeline(clickhouse, {}, 2);
  const { config, kafka, codec } = p;
  const { logger } = capturingLogger();
  const http = createHttpServer({ registry: p.registries()[0], logger, readiness: p.readiness() });
  try {
    const { meters, rounds } = generateFleet(codec, seed);
    // Alerts the good records after the poison must raise: a burst (900 L in one hour) and a
    // pump room that falls to 1.5 °C, yesterday.
    const day = utcDaysAgo(1);
    const burst = scenarioMeter(
      { meterId: 'WM-POISON-BURST', kind: 'WATER', unit: 'L', readingType: 'INTERVAL', intervalSeconds: 3600 },
      Array.from({ length: 24 }, (_, h) => ({ ts: day + h * H, value: h === 12 ? 900 : h % 6 === 0 ? 40 : 0 })),
    );
    const room = scenarioMeter(
      { meterId: 'TS-POISON-ROOM', kind: 'TEMPERATURE', unit: 'CELSIUS', readingType: 'INSTANT', intervalSeconds: 0 },
      Array.from({ length: 24 * 6 }, (_, i) => {
        const h = i / 6;
        return { ts: day + i * 600_000, value: h < 8 ? 12 : h < 16 ? Math.round((12 - (h - 8) * 1.3) * 10) / 10 : 1.5 };
      }),
    );

    // Good records first, then the poison, then more good records behind it.
    await produce(kafka, config.topics.readings, rounds[0]);
    await p.settle();

    const reading: MeterReading = {
      meterId: 'WM-POISON-BURST',
      tenant: 'default',
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      ts: day,
      intervalSeconds: 3600,
      value: 1,
      quality: 'MEASURED',
      zoneId: null,
      priceArea: null,
    };
    const invoice: Invoice = {
      invoiceId: 'INV-POISON',
      tenant: 'default',
      meterId: 'WM-POISON-BURST',
      kind: 'WATER',
      periodStart: day,
      periodEnd: day + 24 * H,
      billedQuantity: 1,
      unit: 'L',
      amount: null,
      currency: null,
      priceArea: null,
    };
    // Year 2603: eleven digits of seconds, which ClickHouse refuses as a DateTime64.
    const year2603 = 2e13;
    const price: SpotPrice = { priceArea: 'SE3', hour: year2603, price: 0.1, currency: 'EUR' };
    const garbage = Buffer.from('not avro at all');
    // Single-object encoding of a writer schema nobody here knows: a newer version, mid-upgrade.
    const newerSchema = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0x5a), Buffer.from([2, 4, 6])]);
    const poison = {
      [config.topics.clean]: [
        { key: 'poison-c1', value: null },
        { key: 'poison-c2', value: garbage },
        { key: 'poison-c3', value: codec.encodeSingleObject('Invoice', invoice) },
      ],
      [config.topics.hourly]: [
        { key: 'poison-h1', value: null },
        { key: 'poison-h2', value: garbage },
        { key: 'poison-h3', value: codec.encodeSingleObject('Invoice', invoice) },
        { key: 'poison-h4', value: newerSchema },
      ],
      [config.topics.invoices]: [
        { key: 'poison-i1', value: null },
        { key: 'poison-i2', value: garbage },
        { key: 'poison-i3', value: codec.encodeSingleObject('MeterReading', reading) },
        {
          key: 'poison-i4',
          value: codec.encodeSingleObject('Invoice', { ...invoice, periodStart: year2603, periodEnd: year2603 + H }),
        },
      ],
      [config.topics.prices]: [
        { key: 'poison-p1', value: null },
        { key: 'poison-p2', value: garbage },
        { key: 'poison-p3', value: codec.encodeSingleObject('Invoice', invoice) },
        { key: 'poison-p4', value: codec.encodeSingleObject('SpotPrice', price) },
      ],
    };
    for (const [topic, records] of Object.entries(poison)) await produce(kafka, topic, records);

    await produce(kafka, config.topics.readings, rounds[1]);
    await produce(kafka, config.topics.readings, [
      { key: burst.spec.meterId, value: codec.encodeSingleObject('MeterReadingBatch', burst.batch) },
      { key: room.spec.meterId, value: codec.encodeSingleObject('MeterReadingBatch', room.batch) },
    ]);
    await produce(kafka, config.topics.readings, rounds[2]);
    await p.settle();

    // Every poison record in the DLQ with its reason and source topic: the clean topic's twice,
    // once by each group that reads it (the aggregator and the anomaly service's frost input).
    const expected = new Map<string, number>();
    const add = (source: string, reason: string, n: number) => expected.set(`${source} ${reason}`, n);
    for (const [source, n] of [
      [config.topics.clean, 2],
      [config.topics.hourly, 1],
      [config.topics.invoices, 1],
      [config.topics.prices, 1],
    ] as const) {
      add(source, 'tombstone', n);
      add(source, 'avro_magic', n);
      add(source, 'unexpected_record', n);
    }
    add(config.topics.hourly, 'avro_unknown_schema', 1);
    add(config.topics.invoices, 'invalid_invoice', 1);
    add(config.topics.prices, 'invalid_price', 1);
    const dead = new Map<string, number>();
    const keys = new Map<string, number>();
    for (const r of await readAll(kafka, config.topics.dlq)) {
      const k = `${String(r.headers[DLQ_HEADERS.topic])} ${String(r.headers[DLQ_HEADERS.reason])}`;
      dead.set(k, (dead.get(k) ?? 0) + 1);
      keys.set(String(r.key), (keys.get(String(r.key)) ?? 0) + 1);
      assert.ok(String(r.headers[DLQ_HEADERS.offset]).length > 0, 'the source offset is named');
    }
    t.diagnostic(`DLQ: ${JSON.stringify([...dead])}`);
    assert.deepEqual(Object.fromEntries(dead), Object.fromEntries(expected), 'each poison record, with its reason');
    for (const [topic, records] of Object.entries(poison))
      for (const r of records)
        assert.equal(keys.get(r.key), topic === config.topics.clean ? 2 : 1, `${r.key} in the DLQ under its own key`);

    // The metric says the same, by reason and source.
    const counted = new Map<string, number>();
    for (const registry of p.registries()) {
      const m = registry.getSingleMetric('meterstream_dlq_messages_total');
      for (const v of m ? (await m.get()).values : []) {
        const k = `${String(v.labels.source)} ${String(v.labels.reason)}`;
        counted.set(k, (counted.get(k) ?? 0) + v.value);
      }
    }
    assert.deepEqual(Object.fromEntries(counted), Object.fromEntries(expected), 'meterstream_dlq_messages_total');

    // The good records around the poison: hourly rows exact, the alerts raised once.
    const { checked } = await assertHourlyExact(clickhouse, config.clickhouse.database, key, [
      ...meters,
      burst.spec,
      room.spec,
    ]);
    t.diagnostic(`${checked} hourly rows checked`);
    assert.ok(checked > 1000);
    const alerts = await waitFor('the burst and frost alerts', async () => {
      const got = await p.alerts();
      const firing = (type: string, meterId: string) =>
        got.some((a) => a.type === type && a.status === 'FIRING' && a.meter === pseudonymOf(key, 'default', meterId));
      return firing('BURST', burst.spec.meterId) && firing('FROST_RISK', room.spec.meterId) && got;
    });
    const seen = new Set<string>();
    for (const a of alerts) {
      assert.ok(!seen.has(`${a.alertId} ${a.status}`), `alert ${a.alertId} ${a.status} published twice`);
      seen.add(`${a.alertId} ${a.status}`);
    }

    // Every consumer still runs: /readyz 200, each consumer ok.
    const ready = await waitFor('/readyz 200', async () => {
      const r = await http.inject({ method: 'GET', url: '/readyz' });
      return r.statusCode === 200 && (r.json() as { checks: Record<string, string> }).checks;
    });
    for (const name of ['anomaly.hourly', 'anomaly.temperature', 'anomaly.invoices', 'anomaly.prices'])
      assert.equal(ready[name], 'ok', `${name} ready`);
    assert.ok(
      Object.keys(ready).some((k) => k.startsWith('aggregator')),
      'the aggregator reports',
    );
  } finally {
    await http.close();
    await p.close();
  }
});
