// Anomaly benchmark. (1) Latency: the ingestor, aggregator and anomaly service run together
// (as `meterstream all`) while a producer in another process (anomaly-load.mjs) offers a steady
// load of readings (water meters' daily batches of hourly volumes and pump-room temperatures);
// a few times a second a fresh room reports 1 °C. The latency is from that reading's append (the broker's
// ack) to its FROST_RISK alert on the alerts topic (read_committed). (2) Throughput: a fresh
// anomaly service catches up on the hourly and clean topics the first run produced: hourly
// rows/s and temperature readings/s evaluated. One process (one embedded engine).
import { availableParallelism, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import {
  AvroCodec,
  createClickHouse,
  createKafka,
  createRegistry,
  loadConfig,
  migrate,
  pseudonymOf,
} from '@meterstream/core';
import { createTopic } from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import { AnomalyService } from '@meterstream/anomaly';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { benchLogger, caughtUp, quantile, rssSampler } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const H = 3_600_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run() {
  const spec = JSON.parse(readFileSync(join(here, 'scenarios', process.env.BENCH_SCENARIO || 'anomaly.json'), 'utf8'));
  const topic = `bench-anomaly-${Date.now()}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'meterstream-bench-anomaly-'));
  const key = 'c4'.repeat(32);
  const base = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    METERSTREAM_PSEUDONYM_KEY: key,
    METERSTREAM_DATA_DIR: dataDir,
    METERSTREAM_TOPIC_READINGS: topic,
    METERSTREAM_TOPIC_INVOICES: `${topic}-invoices`,
    METERSTREAM_TOPIC_CLEAN: `${topic}-clean`,
    METERSTREAM_TOPIC_DLQ: `${topic}-dlq`,
    METERSTREAM_TOPIC_HOURLY: `${topic}-hourly`,
    METERSTREAM_TOPIC_ALERTS: `${topic}-alerts`,
    METERSTREAM_INGESTOR_GROUP_ID: `${topic}-ingestor`,
    METERSTREAM_AGGREGATOR_GROUP_ID: `${topic}-aggregator`,
    METERSTREAM_ANOMALY_GROUP_ID: `${topic}-anomaly`,
    METERSTREAM_INSTANCE_ID: 'bench',
    // Latency-minded fetches: the broker answers as soon as data is there, at most 50 ms later.
    METERSTREAM_FETCH_MAX_WAIT_MS: '50',
    LOG_LEVEL: 'warn',
  };
  const config = loadConfig(base);
  const logger = benchLogger();
  const kafka = createKafka(config.kafka, config.kafka.brokers, logger);
  const clickhouse = await createClickHouse(config.clickhouse);
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  const db = config.clickhouse.database;
  const codec = new AvroCodec();
  const plain = new Kafka({ clientId: 'bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  await createTopic(plain, topic, spec.partitions);
  await createTopic(plain, config.topics.invoices, spec.partitions);
  const admin = kafka.admin();
  await admin.connect();

  const registry = createRegistry('all');
  const ingestor = new Ingestor({
    config,
    pseudonymKey: config.pseudonymKey,
    kafka,
    clickhouse,
    registry,
    logger,
    codec,
  });
  // BENCH_ANOMALY_WITHOUT_AGGREGATOR=1: the frost path alone (the aggregator shares the one embedded engine).
  const withAggregator = process.env.BENCH_ANOMALY_WITHOUT_AGGREGATOR !== '1';
  const aggregator = withAggregator ? new Aggregator({ config, kafka, clickhouse, registry, logger, codec }) : null;
  let anomaly = new AnomalyService({
    config,
    pseudonymKey: config.pseudonymKey,
    kafka,
    clickhouse,
    registry,
    logger,
    codec,
  });
  await ingestor.start();
  await aggregator?.start();
  await anomaly.start();

  // The alerts, as a notification pipeline reads them.
  const sent = new Map(); // pseudonym of a trigger room -> append time (ms, hrtime)
  const latencies = [];
  const reader = plain.consumer({ groupId: `${topic}-reader`, readUncommitted: false, maxWaitTimeInMs: 20 });
  await reader.connect();
  await reader.subscribe({ topic: config.topics.alerts, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const now = performance.timeOrigin + performance.now(); // wall clock, comparable with the load process
      const a = codec.decode(message.value).value;
      const t = sent.get(a.meter);
      if (a.type === 'FROST_RISK' && a.status === 'FIRING' && t !== undefined) {
        latencies.push(now - t);
        sent.delete(a.meter);
      }
    },
  });
  await sleep(3000); // the reader's group settles

  // 2. The load, from its own process (as a head-end would send it).
  const rss = rssSampler();
  const load = spawn(process.execPath, [join(here, 'anomaly-load.mjs')], {
    env: { ...process.env, BENCH_LOAD: JSON.stringify(spec), BENCH_TOPIC: topic },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let summary = null;
  let triggers = 0;
  const lines = createInterface({ input: load.stdout });
  lines.on('line', (line) => {
    const m = JSON.parse(line);
    if (m.done) summary = m;
    else {
      triggers++;
      sent.set(pseudonymOf(Buffer.from(key, 'hex'), 'default', m.trigger), m.at);
    }
  });
  await new Promise((resolve, reject) =>
    load.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited ${code}`)))),
  );
  const offered = summary.offered;
  const loadSeconds = summary.seconds;
  // Where the backlog is when the load stops: messages behind, per consumer group.
  const lagOf = async (groupId, topicName) => {
    const ends = await admin.fetchTopicOffsets(topicName);
    const [c] = await admin.fetchOffsets({ groupId, topics: [topicName] });
    return ends.reduce(
      (sum, e) =>
        sum +
        Math.max(
          0,
          Number(e.high) - Math.max(0, Number(c.partitions.find((p) => p.partition === e.partition)?.offset ?? 0)),
        ),
      0,
    );
  };
  const backlog = {
    ingestor: await lagOf(config.ingestor.groupId, topic),
    aggregator: withAggregator ? await lagOf(config.aggregator.groupId, config.topics.clean) : null,
    anomalyHourly: withAggregator ? await lagOf(`${config.anomaly.groupId}-hourly`, config.topics.hourly) : null,
    anomalyTemperature: await lagOf(`${config.anomaly.groupId}-temperature`, config.topics.clean),
  };
  console.error(`[anomaly] messages behind when the load stopped: ${JSON.stringify(backlog)}`);
  const deadline = Date.now() + 120_000;
  while (latencies.length < triggers && Date.now() < deadline) await sleep(100);
  const peakRss = rss.stop();
  // Drain the pipeline (the hourly rows the catch-up below replays must all exist).
  const drainStart = Date.now();
  await caughtUp(admin, config.ingestor.groupId, topic);
  if (withAggregator) await caughtUp(admin, config.aggregator.groupId, config.topics.clean);
  const drainSeconds = (Date.now() - drainStart) / 1000;
  console.error(`[anomaly] pipeline drained ${drainSeconds.toFixed(1)} s after the load stopped`);
  await caughtUp(admin, `${config.anomaly.groupId}-hourly`, config.topics.hourly);
  await caughtUp(admin, `${config.anomaly.groupId}-temperature`, config.topics.clean);
  await anomaly.close();
  await aggregator?.close();
  await ingestor.close();
  await reader.disconnect();
  // Mean time per Kafka batch, decode to offset commit, per consumed topic (all stages).
  const batchMs = {};
  for (const m of await registry.getMetricsAsJSON()) {
    if (m.name !== 'meterstream_kafka_batch_duration_seconds') continue;
    const sums = {},
      counts = {};
    for (const v of m.values) {
      if (v.metricName?.endsWith('_sum')) sums[v.labels.topic] = v.value;
      if (v.metricName?.endsWith('_count')) counts[v.labels.topic] = v.value;
    }
    for (const t of Object.keys(sums))
      batchMs[t.replace(topic, 'readings')] = { batches: counts[t], meanMs: Math.round((1000 * sums[t]) / counts[t]) };
  }
  console.error(`[anomaly] per-batch time by consumed topic: ${JSON.stringify(batchMs)}`);
  const latency = {
    samples: latencies.length,
    triggers,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: Math.max(...latencies),
  };
  console.error(
    `[anomaly] offered ${Math.round(offered / loadSeconds)} readings/s for ${loadSeconds.toFixed(1)} s; trigger -> alert p50 ${latency.p50Ms?.toFixed(0)} ms, p99 ${latency.p99Ms?.toFixed(0)} ms (${latencies.length}/${triggers})`,
  );

  // 3. Throughput: a fresh service (new groups, fresh state) catches up on what the run produced.
  const count = async (q) =>
    Number(
      (
        await (
          await clickhouse.query({
            query: q,
            format: 'JSONEachRow',
            clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
          })
        ).json()
      )[0].n,
    );
  for (const t of ['anomaly_state', 'alerts', 'invoice_checks'])
    await clickhouse.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  const hourlyRows = await count(`SELECT count() AS n FROM ${db}.readings_hourly`);
  const temperatureReadings = await count(`SELECT count() AS n FROM ${db}.readings_raw WHERE kind = 'TEMPERATURE'`);
  const catchUp = {};
  for (const [input, topicName] of [
    ['hourly', config.topics.hourly],
    ['temperature', config.topics.clean],
  ]) {
    const cfg = loadConfig({ ...base, METERSTREAM_ANOMALY_GROUP_ID: `${topic}-catchup-${input}` });
    anomaly = new AnomalyService({
      config: cfg,
      pseudonymKey: cfg.pseudonymKey,
      kafka,
      clickhouse,
      registry: createRegistry('anomaly'),
      logger,
      codec,
    });
    const start = process.hrtime.bigint();
    await anomaly.start();
    const other = input === 'hourly' ? ['temperature', cfg.topics.clean] : ['hourly', cfg.topics.hourly];
    const done = await caughtUp(admin, `${cfg.anomaly.groupId}-${input}`, topicName);
    await caughtUp(admin, `${cfg.anomaly.groupId}-${other[0]}`, other[1]);
    await anomaly.close();
    catchUp[input] = Number(done - start) / 1e9;
    for (const t of ['anomaly_state', 'alerts', 'invoice_checks'])
      await clickhouse.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  }
  const throughput = {
    hourlyRows,
    hourlyRowsPerSec: hourlyRows / catchUp.hourly,
    temperatureReadings,
    temperatureReadingsPerSec: temperatureReadings / catchUp.temperature,
    seconds: catchUp,
  };
  console.error(
    `[anomaly] catch-up: ${Math.round(throughput.hourlyRowsPerSec)} hourly rows/s, ${Math.round(throughput.temperatureReadingsPerSec)} temperature readings/s`,
  );

  await admin.disconnect();
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
  const report = {
    bench: 'anomaly',
    withAggregator,
    backlogAtEndOfLoad: backlog,
    drainSeconds,
    batchMs,
    at: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    spec,
    offeredReadingsPerSec: offered / loadSeconds,
    latency,
    peakRssBytes: peakRss,
    throughput,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', `anomaly-${report.at.replace(/[:.]/g, '-')}.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log('\nanomaly benchmark');
  console.log(
    `load offered: ${Math.round(report.offeredReadingsPerSec).toLocaleString('en')} readings/s for ${loadSeconds.toFixed(0)} s (ingestor + aggregator + anomaly in one process)`,
  );
  console.log(
    `temperature reading appended -> FROST_RISK alert on the alerts topic: p50 ${latency.p50Ms?.toFixed(0)} ms, p99 ${latency.p99Ms?.toFixed(0)} ms, max ${latency.maxMs.toFixed(0)} ms (${latency.samples} of ${triggers} triggers; budget p99 < 1000 ms)`,
  );
  console.log(
    `evaluated (catch-up): ${Math.round(throughput.hourlyRowsPerSec).toLocaleString('en')} hourly rows/s, ${Math.round(throughput.temperatureReadingsPerSec).toLocaleString('en')} temperature readings/s; peak RSS ${Math.round(peakRss / 2 ** 20)} MB`,
  );
  return report;
}
