/**
 * Exactness, property-style, on the real broker and embedded ClickHouse: a random fleet's
 * readings are delivered shuffled, duplicated and split over many messages, in rounds, with
 * late corrections; every hourly row must equal an independent computation over the distinct
 * readings. Ingestor and aggregator run in this process (one embedded engine).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, createClickHouse, createRegistry, migrate, type ClickHouseClient } from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  readAll,
  testConfig,
  testKafka,
  waitForGroupCaughtUp,
  testSeed,
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
