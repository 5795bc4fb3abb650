// Anomaly benchmark. (1) Latency: the ingestor, aggregator and anomaly service run together
// (as `meterstream all`) while a producer offers a steady load of readings (water meters'
// daily batches of hourly volumes and pump-room temperatures every 10 minutes); a few times a
// second a fresh room reports 1 °C. The latency is from that reading's append (the broker's
// ack) to its FROST_RISK alert on the alerts topic (read_committed). (2) Throughput: a fresh
// anomaly service catches up on the hourly and clean topics the first run produced: hourly
// rows/s and temperature readings/s evaluated. One process (one embedded engine).
import { availableParallelism, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec, createClickHouse, createKafka, createLogger, createRegistry, loadConfig, migrate, pseudonymOf } from '@meterstream/core';
import { createTopic } from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import { AnomalyService } from '@meterstream/anomaly';
import { quantile, rssSampler } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const H = 3_600_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function caughtUp(admin, groupId, topic) {
  const ends = await admin.fetchTopicOffsets(topic);
  for (;;) {
    const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
    // An empty partition (high = low) has nothing to wait for; a group never commits on it.
    if (ends.every((e) => e.high === e.low || BigInt(c.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) >= BigInt(e.high))) return process.hrtime.bigint();
    await sleep(20);
  }
}

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
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (c, e, cb) => (process.stderr.write(c), cb()) }) });
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
  const ingestor = new Ingestor({ config, pseudonymKey: config.pseudonymKey, kafka, clickhouse, registry, logger, codec });
  // BENCH_ANOMALY_WITHOUT_AGGREGATOR=1: the frost path alone (the aggregator shares the one embedded engine).
  const withAggregator = process.env.BENCH_ANOMALY_WITHOUT_AGGREGATOR !== '1';
  const aggregator = withAggregator ? new Aggregator({ config, kafka, clickhouse, registry, logger, codec }) : null;
  let anomaly = new AnomalyService({ config, pseudonymKey: config.pseudonymKey, kafka, clickhouse, registry, logger, codec });
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
      const now = Number(process.hrtime.bigint()) / 1e6;
      const a = codec.decode(message.value).value;
      const t = sent.get(a.meter);
      if (a.type === 'FROST_RISK' && a.status === 'FIRING' && t !== undefined) {
        latencies.push(now - t);
        sent.delete(a.meter);
      }
    },
  });
  await sleep(3000); // the reader's group settles

  // 2. The load: every 100 ms a tick of readings; water meters send a day of hourly volumes,
  // rooms a batch of six 10-minute temperatures; trigger rooms a single 1 °C reading.
  const producer = plain.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const perTick = spec.readingsPerSecond / 10;
  const startDay = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 30 * 86_400_000;
  let water = 0, room = 0, triggers = 0, offered = 0;
  const rss = rssSampler();
  const t0 = Date.now();
  let next = t0;
  for (let tick = 0; tick < spec.seconds * 10; tick++) {
    const messages = [];
    let n = 0;
    while (n < perTick) {
      if (n % 2 === 0) {
        const m = water++ % spec.waterMeters;
        const day = startDay + Math.floor((water - 1) / spec.waterMeters) * 86_400_000;
        const meterId = `WM${String(m).padStart(8, '0')}`;
        messages.push({ key: meterId, value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId, tenant: 'default', kind: 'WATER', unit: 'L', readingType: 'INTERVAL', intervalSeconds: 3600, zoneId: `zone-${m % 50}`, priceArea: null,
          readings: Array.from({ length: 24 }, (_, h) => ({ ts: day + h * H, value: [7, 8, 19, 20].includes(h) ? 60 : h === 3 ? 0 : 5, quality: 'MEASURED' })),
        }) });
        n += 24;
      } else {
        const r = room++ % spec.rooms;
        const meterId = `TS${String(r).padStart(8, '0')}`;
        const at = Date.now() - 3_600_000 + Math.floor((room - 1) / spec.rooms) * 3_600_000 % 3_000_000;
        messages.push({ key: meterId, value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId, tenant: 'default', kind: 'TEMPERATURE', unit: 'CELSIUS', readingType: 'INSTANT', intervalSeconds: 0, zoneId: `building-${r % 100}`, priceArea: null,
          readings: Array.from({ length: 6 }, (_, i) => ({ ts: at + i * 600_000, value: 14 + (r % 5), quality: 'MEASURED' })),
        }) });
        n += 6;
      }
    }
    offered += n;
    const sends = [producer.send({ topic, messages })];
    if (tick % Math.round(10 / spec.triggersPerSecond) === 0) {
      const meterId = `TRIGGER${String(triggers++).padStart(6, '0')}`;
      const value = codec.encodeSingleObject('MeterReading', { meterId, tenant: 'default', kind: 'TEMPERATURE', unit: 'CELSIUS', readingType: 'INSTANT', ts: Date.now(), intervalSeconds: 0, value: 1, quality: 'MEASURED', zoneId: 'pump-rooms', priceArea: null });
      sends.push(producer.send({ topic, messages: [{ key: meterId, value }] }).then(() => sent.set(pseudonymOf(Buffer.from(key, 'hex'), 'default', meterId), Number(process.hrtime.bigint()) / 1e6)));
      offered += 1;
    }
    await Promise.all(sends);
    next += 100;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  const deadline = Date.now() + 120_000;
  while (latencies.length < triggers && Date.now() < deadline) await sleep(100);
  const peakRss = rss.stop();
  await producer.disconnect();
  await caughtUp(admin, `${config.anomaly.groupId}-hourly`, config.topics.hourly);
  await caughtUp(admin, `${config.anomaly.groupId}-temperature`, config.topics.clean);
  await anomaly.close();
  await aggregator?.close();
  await ingestor.close();
  await reader.disconnect();
  const latency = { samples: latencies.length, triggers, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: Math.max(...latencies) };
  console.error(`[anomaly] offered ${Math.round(offered / loadSeconds)} readings/s for ${loadSeconds.toFixed(1)} s; trigger -> alert p50 ${latency.p50Ms?.toFixed(0)} ms, p99 ${latency.p99Ms?.toFixed(0)} ms (${latencies.length}/${triggers})`);

  // 3. Throughput: a fresh service (new groups, fresh state) catches up on what the run produced.
  const count = async (q) => Number((await (await clickhouse.query({ query: q, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json())[0].n);
  for (const t of ['anomaly_state', 'alerts', 'invoice_checks']) await clickhouse.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  const hourlyRows = await count(`SELECT count() AS n FROM ${db}.readings_hourly`);
  const temperatureReadings = await count(`SELECT count() AS n FROM ${db}.readings_raw WHERE kind = 'TEMPERATURE'`);
  const catchUp = {};
  for (const [input, topicName] of [['hourly', config.topics.hourly], ['temperature', config.topics.clean]]) {
    const cfg = loadConfig({ ...base, METERSTREAM_ANOMALY_GROUP_ID: `${topic}-catchup-${input}` });
    anomaly = new AnomalyService({ config: cfg, pseudonymKey: cfg.pseudonymKey, kafka, clickhouse, registry: createRegistry('anomaly'), logger, codec });
    const start = process.hrtime.bigint();
    await anomaly.start();
    const other = input === 'hourly' ? ['temperature', cfg.topics.clean] : ['hourly', cfg.topics.hourly];
    const done = await caughtUp(admin, `${cfg.anomaly.groupId}-${input}`, topicName);
    await caughtUp(admin, `${cfg.anomaly.groupId}-${other[0]}`, other[1]);
    await anomaly.close();
    catchUp[input] = Number(done - start) / 1e9;
    for (const t of ['anomaly_state', 'alerts', 'invoice_checks']) await clickhouse.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  }
  const throughput = { hourlyRows, hourlyRowsPerSec: hourlyRows / catchUp.hourly, temperatureReadings, temperatureReadingsPerSec: temperatureReadings / catchUp.temperature, seconds: catchUp };
  console.error(`[anomaly] catch-up: ${Math.round(throughput.hourlyRowsPerSec)} hourly rows/s, ${Math.round(throughput.temperatureReadingsPerSec)} temperature readings/s`);

  await admin.disconnect();
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
  const report = { bench: 'anomaly', withAggregator, at: new Date().toISOString(), node: process.version, cpus: availableParallelism(), spec, offeredReadingsPerSec: offered / loadSeconds, latency, peakRssBytes: peakRss, throughput };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `anomaly-${report.at.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log('\nanomaly benchmark');
  console.log(`load offered: ${Math.round(report.offeredReadingsPerSec).toLocaleString('en')} readings/s for ${loadSeconds.toFixed(0)} s (ingestor + aggregator + anomaly in one process)`);
  console.log(`temperature reading appended -> FROST_RISK alert on the alerts topic: p50 ${latency.p50Ms?.toFixed(0)} ms, p99 ${latency.p99Ms?.toFixed(0)} ms, max ${latency.maxMs.toFixed(0)} ms (${latency.samples} of ${triggers} triggers; budget p99 < 1000 ms)`);
  console.log(`evaluated (catch-up): ${Math.round(throughput.hourlyRowsPerSec).toLocaleString('en')} hourly rows/s, ${Math.round(throughput.temperatureReadingsPerSec).toLocaleString('en')} temperature readings/s; peak RSS ${Math.round(peakRss / 2 ** 20)} MB`);
  return report;
}
