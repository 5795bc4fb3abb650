/**
 * Exactness, property-style, on the real broker and embedded ClickHouse: a random fleet's
 * readings are delivered shuffled, duplicated and split over many messages, in rounds, with
 * late corrections; every hourly row must equal an independent computation over the distinct
 * readings. Ingestor and aggregator run in this process (one embedded engine).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  createClickHouse,
  createRegistry,
  migrate,
  pseudonymOf,
  type ClickHouseClient,
  type MeterReadingBatch,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  readAll,
  testConfig,
  testKafka,
  waitForGroupCaughtUp,
  testSeed,
  utcDaysAgo,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from './aggregator.js';
import { assertHourlyExact, generateFleet } from './test-fleet.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

test('hourly rows equal the distinct readings whatever the delivery: shuffled, duplicated, split, late, corrected', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const config = testConfig();
  const kafka = testKafka();
  const codec = new AvroCodec();
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 3);
  const { logger } = capturingLogger();
  const registry = createRegistry('all');
  const ingestor = new Ingestor({ config, pseudonymKey: key, kafka, clickhouse, registry, logger, codec });
  const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, codec });

  const { meters, rounds } = generateFleet(codec, seed);

  await ingestor.start();
  await aggregator.start();
  try {
    for (const round of rounds) {
      await produce(kafka, config.topics.readings, round);
      await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
      await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean);
    }
    const { checked, rows } = await assertHourlyExact(clickhouse, config.clickhouse.database, key, meters);
    t.diagnostic(`${checked} hourly rows checked`);
    assert.ok(checked > 1000);

    // The hourly topic: for every stored row, the message with its version.
    const published = new Map<string, number>();
    for (const rec of await readAll(kafka, config.topics.hourly)) {
      const d = codec.decode(rec.value!);
      if (d.schema !== 'HourlyBatch') continue;
      for (const row of d.value.rows) {
        const k = `${d.value.meter}|${d.value.kind}|${row.hour}`;
        published.set(k, Math.max(published.get(k) ?? -1, row.version));
      }
    }
    for (const r of rows)
      assert.equal(published.get(`${r.meter}|${r.kind}|${r.hour}`), r.version, 'latest version published');
  } finally {
    await aggregator.close();
    await ingestor.close();
  }
});

test('a meter sending interval volumes in L and its register in m³ is one series in litres: intervals stand, registers fill the rest, disagreement flagged', async () => {
  const config = testConfig();
  const kafka = testKafka();
  const codec = new AvroCodec();
  const db = config.clickhouse.database;
  await migrate(clickhouse, { database: db, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 3);
  const { logger } = capturingLogger();
  const registry = createRegistry('all');
  const ingestor = new Ingestor({ config, pseudonymKey: key, kafka, clickhouse, registry, logger, codec });
  const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, codec });
  const H = 3_600_000;
  const M = 60_000;
  const h0 = utcDaysAgo(3) + 10 * H;
  const header = { meterId: 'MIX-1', tenant: 'default', kind: 'WATER', zoneId: null, priceArea: null } as const;
  // Quarter-hour volumes for 10:00-12:00, 2.5 L each (10 L an hour).
  const intervals: MeterReadingBatch = {
    ...header,
    unit: 'L',
    readingType: 'INTERVAL',
    intervalSeconds: 900,
    readings: Array.from({ length: 8 }, (_, q) => ({ ts: h0 + q * 15 * M, value: 2.5, quality: 'MEASURED' as const })),
  };
  // The register in m³ at 10:05, 11:05, 12:05, 14:05. 10:05-11:05 says 15 L where the intervals
  // say 10 L: a mismatch. 11:05-12:05 says 15 L, of which the intervals cover 55 minutes.
  const registers: MeterReadingBatch = {
    ...header,
    unit: 'M3',
    readingType: 'REGISTER',
    intervalSeconds: 0,
    readings: [
      [5, 12_000],
      [65, 12_000.015],
      [125, 12_000.03],
      [245, 12_000.05],
    ].map(([m, v]) => ({ ts: h0 + m * M, value: v, quality: 'MEASURED' as const })),
  };
  await ingestor.start();
  await aggregator.start();
  try {
    // Registers first, then intervals: the rows must not depend on the order.
    for (const b of [registers, intervals]) {
      await produce(kafka, config.topics.readings, [
        { key: header.meterId, value: codec.encodeSingleObject('MeterReadingBatch', b) },
      ]);
      await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
      await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean);
    }
    const rs = await clickhouse.query({
      query: `SELECT toUnixTimestamp(hour) * 1000 AS hour, unit, value_sum, coverage, source, register_mismatch
              FROM ${db}.readings_hourly FINAL WHERE meter = {m:String} ORDER BY hour`,
      query_params: { m: pseudonymOf(key, 'default', header.meterId) },
      format: 'JSONEachRow',
    });
    const rows = (
      await rs.json<{
        hour: number;
        unit: string;
        value_sum: number;
        coverage: number;
        source: string;
        register_mismatch: boolean;
      }>()
    ).map((r) => [
      (r.hour - h0) / H,
      r.unit,
      +r.value_sum.toFixed(6),
      +r.coverage.toFixed(4),
      r.source,
      r.register_mismatch,
    ]);
    assert.deepEqual(rows, [
      [0, 'L', 10, 1, 'INTERVALS', true],
      [1, 'L', 10, 1, 'INTERVALS', true],
      // 15 L - 55 min of intervals (9.1667 L) in 12:00-12:05, and 55 of the 120 minutes of 20 L.
      [2, 'L', 15, 1, 'REGISTERS', false],
      [3, 'L', 10, 1, 'REGISTERS', false],
      [4, 'L', +(20 / 24).toFixed(6), +(5 / 60).toFixed(4), 'REGISTERS', false],
    ]);
    const metrics = await registry.metrics();
    assert.match(metrics, /meterstream_aggregator_register_interval_mismatch_total\{[^}]*kind="WATER"[^}]*\} [1-9]/);
  } finally {
    await aggregator.close();
    await ingestor.close();
  }
});
