/**
 * Erasure under load (issue 12's done-when): the ingestor, aggregator and anomaly service of one
 * process on the real broker and the embedded engine. A meter's readings keep arriving while it
 * is erased, and the raw topic is replayed from its start afterwards: the erasure says
 * `complete`, and from then on no table's parts hold a row of the meter (read with the
 * deleted-rows mask off), while another meter's data goes on flowing. The readings were refused
 * and counted, not dead-lettered; the report names the head-end's topic with the retention the
 * broker reports. An admin's un-block lets the meter's data in again (re-registration).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  createClickHouse,
  createKafka,
  createLogger,
  loadConfig,
  meterTables,
  pseudonymOf,
  storedMeterRows,
  type MeterReading,
} from '@meterstream/core';
import {
  TEST_KEY_HEX,
  produce,
  readAll,
  testBrokers,
  testEnv,
  utcDaysAgo,
  waitFor,
  waitForGroupCaughtUp,
} from '@meterstream/core/testing';
import { startServices } from './services.js';

const ADMIN = 'erasure-admin-token-0123456789abcdef';
const H = 3_600_000;
const TENANT = 'oslo-vann';
const ERASED = '707057300000000101';
const KEPT = '707057300000000202';
const RAW_RETENTION_MS = 3 * 86_400_000;

test('erasure under load: in flight and under a replay of the raw topic, nothing of the erased meter comes back', async () => {
  const env = testEnv({ PORT: '0', HOST: '127.0.0.1', METERSTREAM_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' });
  const config = loadConfig(env);
  const logger = createLogger({ level: 'warn' });
  const kafka = createKafka(config.kafka, [testBrokers()], logger);
  const admin = kafka.admin();
  await admin.connect();
  // The head-end's topic, with a retention of its own for the report to read back.
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: config.topics.readings,
        numPartitions: 2,
        configEntries: [{ name: 'retention.ms', value: String(RAW_RETENTION_MS) }],
      },
    ],
  });
  await admin.disconnect();

  const running = await startServices(['ingestor', 'aggregator', 'anomaly'], config, {
    brokers: [testBrokers()],
    logger,
  });
  const clickhouse = await createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  const base = `http://127.0.0.1:${running.port}`;
  const auth = { authorization: `Bearer ${ADMIN}` };
  const key = Buffer.from(TEST_KEY_HEX, 'hex');
  const erased = pseudonymOf(key, TENANT, ERASED);
  const kept = pseudonymOf(key, TENANT, KEPT);
  const codec = new AvroCodec();
  const start = utcDaysAgo(3);
  const record = (meterId: string, hour: number, value: number) => {
    const r: MeterReading = {
      meterId,
      tenant: TENANT,
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      ts: start + hour * H,
      intervalSeconds: 3600,
      value,
      quality: 'MEASURED',
      zoneId: 'Z1',
      priceArea: null,
    };
    return { key: meterId, value: codec.encodeSingleObject('MeterReading', r) };
  };
  const hourlyRows = async (pseudonym: string): Promise<number> => {
    const rs = await clickhouse.query({
      query: `SELECT count() AS n FROM ${db}.readings_hourly FINAL WHERE meter = {m:String}`,
      query_params: { m: pseudonym },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return Number((await rs.json<{ n: number }>())[0].n);
  };
  const onDisk = async (pseudonym: string) =>
    storedMeterRows(clickhouse, db, await meterTables(clickhouse, db), pseudonym);

  try {
    // Both meters' first day is through the pipeline.
    await produce(
      kafka,
      config.topics.readings,
      Array.from({ length: 24 }, (_, h) => [record(ERASED, h, 10 + h), record(KEPT, h, 5)]).flat(),
    );
    await waitFor('the first day in readings_hourly', async () => (await hourlyRows(erased)) >= 24, 120_000);

    // The erased meter's next hours keep arriving while the erasure runs.
    let stop = false;
    let sent = 0;
    const feeding = (async () => {
      for (let hour = 24; !stop && hour < 60; hour++) {
        await produce(kafka, config.topics.readings, [record(ERASED, hour, 7), record(KEPT, hour, 5)]);
        sent++;
      }
    })();
    await waitFor('the feed under way', async () => sent >= 3, 60_000, 20);
    const res = await fetch(`${base}/v1/meters/${erased}`, { method: 'DELETE', headers: auth });
    assert.equal(res.status, 200);
    const report = (await res.json()) as {
      complete: boolean;
      total: number;
      erasedAt: string;
      outsideControl: { topic: string; retentionMs: number | null; until: string | null }[];
    };
    stop = true;
    await feeding;
    assert.equal(report.complete, true, JSON.stringify(report));
    assert.ok(report.total >= 24, 'the erasure found the meter');
    const raw = report.outsideControl.find((o) => o.topic === config.topics.readings);
    assert.equal(raw?.retentionMs, RAW_RETENTION_MS, "the head-end topic's retention as the broker reports it");
    assert.equal(raw?.until, new Date(Date.parse(report.erasedAt) + RAW_RETENTION_MS).toISOString());
    assert.ok(report.outsideControl.some((o) => o.topic === config.topics.invoices));

    // A replay of the raw topic from its start, then a reading of the other meter behind it.
    const history = await readAll(kafka, config.topics.readings);
    await produce(
      kafka,
      config.topics.readings,
      history.map((r) => ({ key: r.key, value: r.value })),
    );
    await produce(kafka, config.topics.readings, [record(KEPT, 70, 5)]);
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings, 180_000);
    await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean, 180_000);
    await waitForGroupCaughtUp(kafka, `${config.anomaly.groupId}-hourly`, config.topics.hourly, 180_000);
    await waitForGroupCaughtUp(kafka, `${config.anomaly.groupId}-temperature`, config.topics.clean, 180_000);
    assert.ok((await hourlyRows(kept)) >= 61, "the other meter's data flowed through, the replay's last too");

    const left = await onDisk(erased);
    assert.deepEqual(
      Object.entries(left).filter(([, n]) => n > 0),
      [],
      'no part of any table holds a row of the erased meter',
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const refused = /meterstream_erased_refused_total\{[^}]*stage="ingestor"[^}]*\} (\d+)/.exec(metrics);
    assert.ok(refused !== null && Number(refused[1]) >= 24, `ingestor refusals counted: ${refused?.[1]}`);
    const dlq = await readAll(kafka, config.topics.dlq).catch(() => []);
    assert.ok(!dlq.some((r) => r.key?.toString() === ERASED), 'refused readings are not dead-lettered');

    // Re-registration: an admin un-blocks, and the meter's new readings are accepted again.
    const unblock = await fetch(`${base}/v1/meters/${erased}/unblock`, { method: 'POST', headers: auth });
    assert.equal(unblock.status, 201);
    await produce(kafka, config.topics.readings, [record(ERASED, 71, 3)]);
    await waitFor('the un-blocked meter stored again', async () => (await hourlyRows(erased)) >= 1, 120_000);
  } finally {
    await running.stop();
    await clickhouse.close();
  }
});
