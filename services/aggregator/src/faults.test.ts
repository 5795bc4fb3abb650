/**
 * Never stop, never lie (issue 9): faults injected at the real seams while the ingestor and the
 * aggregator run in this process on the real broker and the embedded engine. ClickHouse stalls
 * longer than Kafka's transaction timeout, fails a share of its statements, refuses rows; the
 * network to the broker is cut. After each fault the hourly rows equal the independent reference,
 * readings_raw holds each distinct reading once, every poison record is in the DLQ once with its
 * reason, and consumption went on in the same process.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import {
  AvroCodec,
  DLQ_HEADERS,
  clickHouseReadiness,
  createClickHouse,
  createHttpServer,
  createRegistry,
  migrate,
  pseudonymOf,
  type ClickHouseClient,
  type MeterReading,
  type MeterstreamConfig,
} from '@meterstream/core';
import {
  TEST_KEY_HEX,
  capturingLogger,
  createTopic,
  cuttableKafkaNetwork,
  produce,
  readAll,
  testBrokers,
  testConfig,
  testKafka,
  testSeed,
  utcDaysAgo,
  waitFor,
  waitForGroupCaughtUp,
  withClickHouseFaults,
  type ClickHouseFaults,
} from '@meterstream/core/testing';
import { prng } from '@meterstream/simulator';
import { Ingestor } from '@meterstream/ingestor';
import type { Registry } from 'prom-client';
import { Aggregator } from './aggregator.js';
import { assertHourlyExact, generateFleet, type MeterSpec } from './test-fleet.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());
const testKafkaClient = testKafka();
/** Bound of every wait for the pipeline to catch up after a fault. */
const CATCH_UP_MS = 180_000;

/** The ingestor and aggregator of one scenario, with their faults, HTTP face and registry. */
interface Pipeline {
  config: MeterstreamConfig;
  faults: ClickHouseFaults;
  registry: Registry;
  readyz: () => Promise<{ status: number; checks: Record<string, string> }>;
  healthz: () => Promise<number>;
  caughtUp: () => Promise<void>;
  close: () => Promise<void>;
}

async function startPipeline(kafka: Kafka = testKafkaClient): Promise<Pipeline> {
  const config = testConfig();
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(testKafkaClient, config.topics.readings, 3);
  const faults = withClickHouseFaults(clickhouse);
  const { logger } = capturingLogger();
  const registry = createRegistry('all');
  const codec = new AvroCodec();
  const deps = { config, kafka, clickhouse: faults.client, registry, logger, codec };
  const ingestor = new Ingestor({ ...deps, pseudonymKey: key });
  const aggregator = new Aggregator(deps);
  // What `meterstream all` serves (cli/src/services.ts), built the same way.
  const http = createHttpServer({
    registry,
    logger,
    readiness: {
      clickhouse: clickHouseReadiness(faults.client),
      ...ingestor.readiness(),
      ...aggregator.readiness(),
    },
    liveness: { ...ingestor.liveness(), ...aggregator.liveness() },
    readinessTimeoutMs: 2_000,
  });
  await ingestor.start();
  await aggregator.start();
  return {
    config,
    faults,
    registry,
    readyz: async () => {
      const r = await http.inject({ method: 'GET', url: '/readyz' });
      return { status: r.statusCode, checks: (r.json() as { checks: Record<string, string> }).checks };
    },
    healthz: async () => (await http.inject({ method: 'GET', url: '/healthz' })).statusCode,
    caughtUp: async () => {
      await waitForGroupCaughtUp(testKafkaClient, config.ingestor.groupId, config.topics.readings, CATCH_UP_MS);
      await waitForGroupCaughtUp(testKafkaClient, config.aggregator.groupId, config.topics.clean, CATCH_UP_MS);
    },
    close: async () => {
      faults.release();
      faults.failShare(0);
      await aggregator.close();
      await ingestor.close();
      await http.close();
    },
  };
}

/** Sum of a metric's values whose labels include `labels`. */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === x))
    .reduce((n, v) => n + v.value, 0);
}

/** Distinct readings of the fleet: what readings_raw FINAL must hold, no more, no less. */
function distinctReadings(meters: MeterSpec[]): number {
  return meters.reduce((n, m) => n + m.truth.size, 0);
}

async function rawCount(db: string): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM ${db}.readings_raw FINAL`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json<{ n: number }>())[0].n;
}

/** The pipeline's outcome checked against the reference: hourly rows exact, each reading once in readings_raw. */
async function assertExact(t: TestContext, p: Pipeline, meters: MeterSpec[]): Promise<void> {
  const db = p.config.clickhouse.database;
  const { checked } = await assertHourlyExact(clickhouse, db, key, meters);
  t.diagnostic(`${checked} hourly rows checked`);
  assert.ok(checked > 1000);
  assert.equal(await rawCount(db), distinctReadings(meters), 'readings_raw FINAL holds each distinct reading once');
}

/** DLQ records by reason (read_committed: what downstream sees). */
async function deadLettersByReason(topic: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await readAll(testKafkaClient, topic, { timeoutMs: 60_000 })) {
    const reason = String(r.headers[DLQ_HEADERS.reason]);
    out.set(reason, (out.get(reason) ?? 0) + 1);
  }
  return out;
}

async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = testKafkaClient.admin();
  await admin.connect();
  try {
    const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return c.partitions.reduce((n, x) => n + Math.max(0, Number(x.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('ClickHouse stalled 90 s mid-stream (past the 60 s transaction timeout): not ready meanwhile, then ready, rows exact, no rebuild', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const p = await startPipeline();
  try {
    const { meters, rounds } = generateFleet(new AvroCodec(), seed);
    await produce(testKafkaClient, p.config.topics.readings, rounds[0]);
    await p.caughtUp();
    assert.equal((await p.readyz()).status, 200, 'ready before the stall');

    p.faults.stall();
    const stallEnds = Date.now() + 90_000;
    await produce(testKafkaClient, p.config.topics.readings, rounds[1]);
    await waitFor('a statement held by the stall', async () => p.faults.counts.stalled > 0);
    const ingested = await committedTotal(p.config.ingestor.groupId, p.config.topics.readings);
    // Nothing moves, and /readyz says so (and why); /healthz stays ok: this heals by itself.
    const during = await waitFor('/readyz 503 during the stall', async () => {
      const r = await p.readyz();
      return r.status === 503 ? r : null;
    });
    t.diagnostic(`during the stall: ${JSON.stringify(during.checks)}`);
    assert.notEqual(during.checks.clickhouse, 'ok');
    while (Date.now() < stallEnds) {
      assert.equal((await p.readyz()).status, 503, 'never ready while ClickHouse is stalled');
      assert.equal(await p.healthz(), 200, 'alive while stalled');
      await sleep(10_000);
    }
    assert.equal(
      await committedTotal(p.config.ingestor.groupId, p.config.topics.readings),
      ingested,
      'no offset committed while the rows could not be written',
    );
    p.faults.release();

    await p.caughtUp();
    await produce(testKafkaClient, p.config.topics.readings, rounds[2]);
    await p.caughtUp();
    await waitFor('/readyz 200 after the stall', async () => (await p.readyz()).status === 200, 30_000);
    const slow = await metric(p.registry, 'meterstream_kafka_transactions_aborted_total', { reason: 'sink_slow' });
    t.diagnostic(`transactions aborted as sink_slow: ${slow}; statements held: ${p.faults.counts.stalled}`);
    assert.ok(slow > 0, 'the transaction budget aborted and retried in a fresh transaction');
    assert.equal(await metric(p.registry, 'meterstream_kafka_consumer_restarts_total'), 0, 'no consumer rebuilt');
    await assertExact(t, p, meters);
  } finally {
    await p.close();
  }
});

test('10 % of ClickHouse statements fail for 40 s, rows refused, poison records: rows exact, nothing doubled, every poison record in the DLQ once', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const p = await startPipeline();
  try {
    const codec = new AvroCodec();
    const { meters, rounds } = generateFleet(codec, seed);
    // A meter whose rows ClickHouse refuses, and records no decoder takes.
    const refusedMeter = 'REFUSED-1';
    const refused = pseudonymOf(key, 'default', refusedMeter);
    const refusedReading: MeterReading = {
      meterId: refusedMeter,
      tenant: 'default',
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      ts: utcDaysAgo(7),
      intervalSeconds: 3600,
      value: 1,
      quality: 'MEASURED',
      zoneId: null,
      priceArea: null,
    };
    const poison = [
      { key: 'P1', value: Buffer.from('not avro at all') },
      {
        key: 'P2',
        value: codec.encodeSingleObject('MeterReading', { ...refusedReading, meterId: 'P2', unit: 'KWH' }),
      },
      { key: 'P3', value: null },
      { key: refusedMeter, value: codec.encodeSingleObject('MeterReading', refusedReading) },
    ];
    p.faults.refuseRows((line) => line.includes(refused));
    p.faults.failShare(0.1, prng(seed));
    const faultsEnd = Date.now() + 40_000;
    await produce(testKafkaClient, p.config.topics.readings, [...rounds[0].slice(0, 50), ...poison]);
    await produce(testKafkaClient, p.config.topics.readings, rounds[0].slice(50));
    await p.caughtUp();
    await produce(testKafkaClient, p.config.topics.readings, rounds[1]);
    await p.caughtUp();
    await sleep(Math.max(0, faultsEnd - Date.now()));
    p.faults.failShare(0);
    await produce(testKafkaClient, p.config.topics.readings, rounds[2]);
    await p.caughtUp();
    t.diagnostic(`faults: ${JSON.stringify(p.faults.counts)}`);
    assert.ok(p.faults.counts.failed > 0 && p.faults.counts.refused > 0, 'the faults met statements');

    await assertExact(t, p, meters);
    const dead = await deadLettersByReason(p.config.topics.dlq);
    t.diagnostic(`DLQ: ${JSON.stringify([...dead])}`);
    assert.deepEqual(
      Object.fromEntries(dead),
      { avro_magic: 1, unit_mismatch: 1, tombstone: 1, clickhouse_rejected: 1 },
      'each poison record in the DLQ exactly once, with its reason',
    );
    assert.equal(await p.healthz(), 200);
    await waitFor('/readyz 200 after the failures', async () => (await p.readyz()).status === 200, 30_000);
  } finally {
    await p.close();
  }
});

test('network to the broker cut for 20 s mid-stream: the consumers heal in-process, rows exact', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const network = cuttableKafkaNetwork();
  // The services' client goes through the cuttable network; the test's own client does not.
  const kafka = new Kafka({
    clientId: 'faults-test',
    brokers: testBrokers().split(','),
    connectionTimeout: 10_000,
    requestTimeout: 60_000,
    logLevel: logLevel.NOTHING,
    socketFactory: network.socketFactory,
  });
  const p = await startPipeline(kafka);
  try {
    const { meters, rounds } = generateFleet(new AvroCodec(), seed);
    await produce(testKafkaClient, p.config.topics.readings, rounds[0]);
    await p.caughtUp();
    await produce(testKafkaClient, p.config.topics.readings, rounds[1]);
    network.cut();
    // Nothing can commit while the network is cut, so a pipeline behind now was cut mid-stream.
    const behind =
      (await committedTotal(p.config.ingestor.groupId, p.config.topics.readings)) < rounds[0].length + rounds[1].length;
    const cutEnds = Date.now() + 20_000;
    // No broker answers: /readyz must say so within the cut (a consumer silent for 10 s is not ready).
    const during = await waitFor(
      '/readyz 503 during the cut',
      async () => {
        const r = await p.readyz();
        return r.status === 503 ? r : null;
      },
      Math.max(1_000, cutEnds - Date.now()),
      250,
    );
    t.diagnostic(`/readyz during the cut: ${JSON.stringify(during.checks)}`);
    assert.equal(await p.healthz(), 200, 'healing, not dead');
    await sleep(Math.max(0, cutEnds - Date.now()));
    network.restore();
    await produce(testKafkaClient, p.config.topics.readings, rounds[2]);
    await p.caughtUp();
    t.diagnostic(
      `connections dropped or held: ${network.counts.dropped}; consumer rebuilds: ${await metric(p.registry, 'meterstream_kafka_consumer_restarts_total')}`,
    );
    assert.ok(network.counts.dropped > 0, 'the cut dropped connections');
    assert.ok(behind, 'the cut landed before the ingestor had committed the second round');
    await waitFor('/readyz 200 after the cut', async () => (await p.readyz()).status === 200, 60_000);
    assert.equal(await p.healthz(), 200);
    await assertExact(t, p, meters);
  } finally {
    await p.close();
  }
});
