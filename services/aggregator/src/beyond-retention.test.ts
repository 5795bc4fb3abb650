/**
 * Corrections beyond raw retention (issue 10, part 4), on the real broker and embedded
 * ClickHouse, ingestor and aggregator in this process. An hour's readings are rolled up; the raw
 * retention is then shortened so they expire; a correction for that hour arrives. Recomputing
 * the hour from `readings_raw` would now see the correction alone (samples 1, coverage 0.25) and
 * overwrite the exact row. Instead the correction goes to the DLQ as `beyond_retention` and the
 * hourly row stays as it was.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  createClickHouse,
  createRegistry,
  deadLetterReason,
  migrate,
  type ClickHouseClient,
  type MeterReadingBatch,
  type MeterstreamConfig,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  readAll,
  testConfig,
  testKafka,
  utcDaysAgo,
  waitFor,
  waitForGroupCaughtUp,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from './aggregator.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

const HOUR = 3_600_000;

test('a correction older than the raw retention minus a day goes to the DLQ (beyond_retention); the hourly row stays exact', async () => {
  const wide = testConfig({ METERSTREAM_RAW_TTL_DAYS: '30' });
  const narrow: MeterstreamConfig = { ...wide, retention: { ...wide.retention, rawDays: 10 } };
  const kafka = testKafka();
  const codec = new AvroCodec();
  const db = wide.clickhouse.database;
  await migrate(clickhouse, { database: db, retention: wide.retention });
  await createTopic(kafka, wide.topics.readings, 2);
  const { logger } = capturingLogger();
  const run = async (config: MeterstreamConfig, messages: { key: string; value: Buffer }[]) => {
    const registry = createRegistry('all');
    const ingestor = new Ingestor({ config, pseudonymKey: key, kafka, clickhouse, registry, logger, codec });
    const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, codec });
    await ingestor.start();
    await aggregator.start();
    try {
      await produce(kafka, config.topics.readings, messages);
      await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
      await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean);
    } finally {
      await aggregator.close();
      await ingestor.close();
    }
  };
  const hour = utcDaysAgo(20) + 10 * HOUR;
  const batch = (readings: MeterReadingBatch['readings']): { key: string; value: Buffer } => ({
    key: 'WM-17',
    value: codec.encodeSingleObject('MeterReadingBatch', {
      meterId: 'WM-17',
      tenant: 'default',
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      intervalSeconds: 900,
      zoneId: null,
      priceArea: null,
      readings,
    }),
  });
  const stored = async () => {
    const rs = await clickhouse.query({
      query: `SELECT value_sum, samples, coverage, version FROM ${db}.readings_hourly FINAL WHERE hour = toDateTime(${hour / 1000}, 'UTC')`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return rs.json<{ value_sum: number; samples: number; coverage: number; version: number }>();
  };

  // 20 days ago, inside a 30-day retention: four quarter hours, 10 L each.
  await run(wide, [batch([0, 1, 2, 3].map((q) => ({ ts: hour + q * 900_000, value: 10, quality: 'MEASURED' })))]);
  const exact = await stored();
  assert.deepEqual(
    exact.map((r) => [r.value_sum, r.samples, r.coverage]),
    [[40, 4, 1]],
  );

  // The retention shortened to 10 days: the hour's raw readings expire.
  await migrate(clickhouse, { database: db, retention: narrow.retention });
  await waitFor('the expired raw readings to be gone', async () => {
    await clickhouse.command({ query: `OPTIMIZE TABLE ${db}.readings_raw FINAL` });
    const rs = await clickhouse.query({ query: `SELECT count() AS n FROM ${db}.readings_raw`, format: 'JSONEachRow' });
    return Number((await rs.json<{ n: string }>())[0].n) === 0;
  });

  // A correction of one quarter hour arrives now.
  await run(narrow, [batch([{ ts: hour + 900_000, value: 99, quality: 'CORRECTED' }])]);
  const dead = (await readAll(kafka, narrow.topics.dlq)).map((r) => deadLetterReason(r));
  assert.deepEqual(dead, ['beyond_retention']);
  assert.deepEqual(await stored(), exact, 'the hourly row is unchanged');
});
