/**
 * A rebalance with two aggregator instances in one group: a second instance joins mid-stream
 * and the first leaves before the end; every hourly row must still be exact.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  createClickHouse,
  createRegistry,
  loadConfig,
  migrate,
  type ClickHouseClient,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  testEnv,
  testKafka,
  waitForGroupCaughtUp,
  testSeed,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from './aggregator.js';
import { assertHourlyExact, generateFleet } from './test-fleet.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const env = testEnv({ METERSTREAM_AGGREGATOR_WORKERS: '1' });
const clickhouse: ClickHouseClient = await createClickHouse(loadConfig(env).clickhouse);
after(() => clickhouse.close());

test('a second aggregator joins and the first leaves mid-stream: rows stay exact', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const configA = loadConfig({ ...env, METERSTREAM_INSTANCE_ID: `${env.METERSTREAM_INSTANCE_ID}-a` });
  const configB = loadConfig({ ...env, METERSTREAM_INSTANCE_ID: `${env.METERSTREAM_INSTANCE_ID}-b` });
  const kafka = testKafka();
  const codec = new AvroCodec();
  await migrate(clickhouse, { database: configA.clickhouse.database, retention: configA.retention });
  await createTopic(kafka, configA.topics.readings, 3);
  const { logger, lines } = capturingLogger();
  const ingestor = new Ingestor({
    config: configA,
    pseudonymKey: key,
    kafka,
    clickhouse,
    registry: createRegistry('ingestor'),
    logger,
    codec,
  });
  const a = new Aggregator({
    config: configA,
    kafka,
    clickhouse,
    registry: createRegistry('a'),
    logger: logger.child({ instance: 'a' }),
    codec,
  });
  const b = new Aggregator({
    config: configB,
    kafka,
    clickhouse,
    registry: createRegistry('b'),
    logger: logger.child({ instance: 'b' }),
    codec,
  });
  const { meters, rounds } = generateFleet(codec, seed, 32);
  await ingestor.start();
  await a.start();
  try {
    await produce(kafka, configA.topics.readings, rounds[0]);
    await b.start(); // joins: the group rebalances while round 0 is in flight
    await produce(kafka, configA.topics.readings, rounds[1]);
    await a.close(); // leaves: b takes every partition
    await produce(kafka, configA.topics.readings, rounds[2]);
    await waitForGroupCaughtUp(kafka, configA.ingestor.groupId, configA.topics.readings);
    await waitForGroupCaughtUp(kafka, configA.aggregator.groupId, configA.topics.clean);
    const assignments = lines.filter((l) => l.includes('partitions assigned') && l.includes('"service":"aggregator"'));
    assert.ok(assignments.length >= 3, `the group rebalanced (${assignments.length} assignments logged)`);
    const { checked } = await assertHourlyExact(clickhouse, configA.clickhouse.database, key, meters);
    t.diagnostic(`${checked} hourly rows checked`);
    assert.ok(checked > 1000);
  } finally {
    await a.close();
    await b.close();
    await ingestor.close();
  }
});
