// One run of the meterstream ingestor over a pre-loaded topic; prints a JSON result line.
// Clock: first fetch request → the group's committed offsets reach the end of the topic
// (rows confirmed by ClickHouse, clean batches and offsets committed in Kafka).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse, createKafka, createRegistry, loadConfig, migrate } from '@meterstream/core';
import { Ingestor } from '@meterstream/ingestor';
import { benchLogger, quantile, rssSampler } from './lib.mjs';

const topic = process.env.BENCH_TOPIC;
const readings = Number(process.env.BENCH_READINGS);
const dataDir = mkdtempSync(join(tmpdir(), 'meterstream-bench-'));
const config = loadConfig({
  KAFKA_BROKERS: process.env.KAFKA_BROKERS,
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
  METERSTREAM_PSEUDONYM_KEY: 'b2'.repeat(32),
  METERSTREAM_DATA_DIR: dataDir,
  METERSTREAM_TOPIC_READINGS: topic,
  METERSTREAM_TOPIC_CLEAN: `${topic}-clean`,
  METERSTREAM_TOPIC_DLQ: `${topic}-dlq`,
  METERSTREAM_INGESTOR_GROUP_ID: `${topic}-ours`,
  METERSTREAM_INSTANCE_ID: 'bench',
  LOG_LEVEL: 'warn',
  ...(process.env.METERSTREAM_INGESTOR_CONCURRENCY
    ? { METERSTREAM_INGESTOR_CONCURRENCY: process.env.METERSTREAM_INGESTOR_CONCURRENCY }
    : {}),
});
const logger = benchLogger();
const rss = rssSampler();
const kafka = createKafka(config.kafka, config.kafka.brokers, logger);
const clickhouse = await createClickHouse(config.clickhouse);
await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
const registry = createRegistry('ingestor');
const ingestor = new Ingestor({ config, pseudonymKey: config.pseudonymKey, kafka, clickhouse, registry, logger });

let firstFetch = null;
const batchMs = [];
ingestor.consumer.on(ingestor.consumer.events.FETCH_START, () => (firstFetch ??= process.hrtime.bigint()));
ingestor.consumer.on(ingestor.consumer.events.END_BATCH_PROCESS, (e) => batchMs.push(e.payload.duration));

const admin = kafka.admin();
await admin.connect();
const ends = await admin.fetchTopicOffsets(topic);
await ingestor.start();
let done;
for (;;) {
  const [c] = await admin.fetchOffsets({ groupId: config.ingestor.groupId, topics: [topic] });
  if (
    ends.every((e) => BigInt(c.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) >= BigInt(e.high))
  ) {
    done = process.hrtime.bigint();
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const seconds = Number(done - firstFetch) / 1e9;
const peak = rss.stop();
// Where the time went, from the service's own metrics (sums of seconds).
const sums = {};
for (const m of await registry.getMetricsAsJSON()) {
  if (m.type === 'histogram')
    for (const v of m.values) if (v.metricName?.endsWith('_sum')) sums[m.name] = (sums[m.name] ?? 0) + v.value;
}
const [{ n }] = await (
  await clickhouse.query({
    query: `SELECT count() AS n FROM ${config.clickhouse.database}.readings_raw FINAL`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
).json();
await admin.disconnect();
await ingestor.close();
await clickhouse.close();
rmSync(dataDir, { recursive: true, force: true });
if (n !== readings) throw new Error(`readings_raw has ${n} rows, expected ${readings}`);
console.log(
  JSON.stringify({
    seconds,
    readingsPerSec: readings / seconds,
    batches: batchMs.length,
    p50BatchMs: quantile(batchMs, 0.5),
    p99BatchMs: quantile(batchMs, 0.99),
    peakRssBytes: peak,
    rows: n,
    phaseSeconds: {
      batch: sums.meterstream_kafka_batch_duration_seconds,
      insert: sums.meterstream_clickhouse_insert_duration_seconds,
    },
  }),
);
process.exit(0);
