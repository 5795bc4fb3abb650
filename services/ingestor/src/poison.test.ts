/**
 * No record can stop the ingestor, on the real broker and embedded ClickHouse: a value just
 * under the broker's limit (which its DLQ copy, with headers, would exceed) goes to the DLQ as
 * a bounded envelope, and a meter's clean batch larger than the clean topic takes is split, not
 * refused. After each, the next messages flow: offsets move and `/readyz` says ready.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  AvroCodec,
  DLQ_HEADERS,
  ENVELOPE_HEADERS,
  createClickHouse,
  createHttpServer,
  createRegistry,
  migrate,
  pseudonymOf,
  recordBytes,
  type ClickHouseClient,
  type MeterReading,
  type MeterReadingBatch,
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
import { Ingestor } from './ingestor.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const codec = new AvroCodec();
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());
const day0 = utcDaysAgo(10);

function reading(meterId: string, ts: number, value: number): MeterReading {
  return {
    meterId,
    tenant: 't1',
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    ts,
    intervalSeconds: 3600,
    value,
    quality: 'MEASURED',
    zoneId: null,
    priceArea: null,
  };
}

async function started(extra: Record<string, string> = {}) {
  const config = testConfig(extra);
  const kafka = testKafka();
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 1);
  const registry = createRegistry('ingestor');
  const { logger } = capturingLogger();
  const ingestor = new Ingestor({ config, pseudonymKey: key, kafka, clickhouse, registry, logger });
  const http = createHttpServer({ registry, logger, readiness: ingestor.readiness(), liveness: ingestor.liveness() });
  const ready = async () => (await http.inject({ method: 'GET', url: '/readyz' })).statusCode;
  const rows = async (meter: string) => {
    const r = await clickhouse.query({
      query: `SELECT count() AS n FROM ${config.clickhouse.database}.readings_raw FINAL WHERE meter = {m:String}`,
      query_params: { m: pseudonymOf(key, 't1', meter) },
      format: 'JSONEachRow',
    });
    return Number(((await r.json()) as { n: string }[])[0].n);
  };
  return { config, kafka, ingestor, http, ready, rows };
}

test('a value the DLQ cannot copy goes there as an envelope, and the next messages flow', async () => {
  const { config, kafka, ingestor, http, ready, rows } = await started();
  // 1,048,400 bytes: the broker takes it on the raw topic, but not with the DLQ's headers added.
  const garbage = randomBytes(1_048_400);
  garbage[0] = 0x7b; // neither magic byte: a decode error
  await produce(kafka, config.topics.readings, [{ key: 'big-meter', value: garbage }]);
  await ingestor.start();
  try {
    const dead = await waitFor('the envelope in the DLQ', async () => {
      const r = await readAll(kafka, config.topics.dlq);
      return r.length >= 1 ? r : null;
    });
    const envelope = dead[0];
    assert.equal(String(envelope.headers[DLQ_HEADERS.reason]), 'too_large');
    assert.equal(String(envelope.headers[ENVELOPE_HEADERS.reason]), 'avro_magic');
    assert.equal(String(envelope.headers[ENVELOPE_HEADERS.size]), String(garbage.length));
    assert.equal(String(envelope.headers[ENVELOPE_HEADERS.sha256]), createHash('sha256').update(garbage).digest('hex'));
    assert.equal(String(envelope.headers[DLQ_HEADERS.offset]), '0');
    assert.deepEqual(envelope.value, garbage.subarray(0, envelope.value!.length), 'the first bytes of the original');
    assert.ok(envelope.value!.length > 0 && envelope.value!.length <= 1024);

    // The next messages flow: a good reading and a small piece of garbage.
    await produce(kafka, config.topics.readings, [
      { key: 'm-after', value: codec.encodeSingleObject('MeterReading', reading('m-after', day0, 7)) },
      { key: 'm-junk', value: Buffer.from('not avro at all') },
    ]);
    await waitFor('the reading after the envelope in readings_raw', async () => (await rows('m-after')) === 1);
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
    const after = await readAll(kafka, config.topics.dlq);
    assert.equal(after.length, 2);
    assert.equal(String(after[1].headers[DLQ_HEADERS.reason]), 'avro_magic');
    assert.deepEqual(after[1].value, Buffer.from('not avro at all'), 'small dead letters are copied whole');
    assert.equal(await ready(), 200);
    assert.equal((await http.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  } finally {
    await ingestor.close();
    await http.close();
  }
});

test('a meter batch larger than the clean topic takes is split into records under its limit', async () => {
  const { config, kafka, ingestor, ready, rows } = await started();
  // The clean topic takes 64 KiB batches: one 10,000-reading delivery is ~190 KiB clean.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: config.topics.clean, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '65536' }] },
    ],
  });
  await admin.disconnect();
  const batch: MeterReadingBatch = {
    meterId: 'm-big',
    tenant: 't1',
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    intervalSeconds: 60,
    zoneId: null,
    priceArea: null,
    readings: Array.from({ length: 10_000 }, (_, i) => ({ ts: day0 + i * 60_000, value: i % 7, quality: 'MEASURED' })),
  };
  await produce(kafka, config.topics.readings, [
    { key: 'm-big', value: codec.encodeSingleObject('MeterReadingBatch', batch) },
  ]);
  await ingestor.start();
  try {
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
    const clean = await readAll(kafka, config.topics.clean);
    assert.ok(clean.length > 1, `split into ${clean.length} records`);
    let readings = 0;
    for (const r of clean) {
      assert.ok(recordBytes({ key: r.key, value: r.value }) <= 65536, 'every record under the topic limit');
      const d = codec.decode(r.value!);
      assert.equal(d.schema, 'CleanReadingBatch');
      readings += (d.value as { readings: unknown[] }).readings.length;
    }
    assert.equal(readings, 10_000, 'no reading lost or doubled by the split');
    assert.equal(await rows('m-big'), 10_000);
    assert.equal((await readAll(kafka, config.topics.dlq)).length, 0);
    assert.equal(await ready(), 200);
  } finally {
    await ingestor.close();
  }
});
