/**
 * kill -9 of `meterstream all` (ingestor and aggregator in one process, as embedded ClickHouse
 * requires) at random moments while a fleet's rounds arrive; restarted each time. Every
 * hourly row must be exact at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, createClickHouse, loadConfig } from '@meterstream/core';
import {
  TEST_KEY_HEX,
  createTopic,
  produce,
  testEnv,
  testKafka,
  waitForGroupCaughtUp,
  startService,
  testSeed,
} from '@meterstream/core/testing';
import { assertHourlyExact, generateFleet } from './test-fleet.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');

test('kill -9 of the aggregator at random moments: every hourly row still exact', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const env = testEnv({
    METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION: '4096',
    METERSTREAM_FETCH_MAX_BYTES: '12288',
    METERSTREAM_AGGREGATOR_WORKERS: '1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const config = loadConfig(env);
  const kafka = testKafka();
  const codec = new AvroCodec();
  await createTopic(kafka, config.topics.readings, 3);
  const { meters, rounds } = generateFleet(codec, seed, 32);

  const admin = kafka.admin();
  await admin.connect();
  // True while the aggregator has not committed everything the ingestor published so far.
  const behind = async () => {
    const ends = await admin.fetchTopicOffsets(config.topics.clean).catch(() => []);
    const [c] = await admin.fetchOffsets({ groupId: config.aggregator.groupId, topics: [config.topics.clean] });
    return (
      ends.length === 0 ||
      ends.some((e) => BigInt(c.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1') < BigInt(e.high))
    );
  };
  let killedMidStream = 0;
  for (const round of rounds) {
    await produce(kafka, config.topics.readings, round);
    const run = startService('all', env);
    await run.ready;
    // A random moment soon after start: the round has just been produced, so work is in flight.
    await new Promise((r) => setTimeout(r, Math.random() * 400));
    run.child.kill('SIGKILL');
    await run.exited;
    if (await behind()) killedMidStream++;
  }
  await admin.disconnect();
  assert.ok(killedMidStream > 0, 'at least one kill landed mid-stream');
  const last = startService('all', env);
  await last.ready;
  await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings, 180_000);
  await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean, 180_000);
  last.child.kill('SIGTERM');
  assert.equal(await last.exited, 0, `SIGTERM drains and exits 0:\n${last.output()}`);

  const clickhouse = await createClickHouse(config.clickhouse);
  try {
    const { checked } = await assertHourlyExact(clickhouse, config.clickhouse.database, key, meters);
    t.diagnostic(`${checked} hourly rows checked`);
    assert.ok(checked > 1000);
  } finally {
    await clickhouse.close();
  }
});
