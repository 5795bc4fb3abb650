// Ingest benchmark: readings/s from first fetch to last insert, batch latency p50/p99 and peak
// RSS of the meterstream ingestor, beside ClickHouse's own Kafka table engine (in chDB)
// reading the same topic into a MergeTree. Then the baselines on the same topic: kafkajs
// consuming with no processing, Kafka's Java ConsumerPerformance, and ClickHouse inserting the
// same number of readings_raw rows from numbers() (the insert floor). Each runs in its own
// process, one after the other; the ratios (meterstream / each) are printed and written.
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec } from '@meterstream/core';
import { createTopic, utcDaysAgo } from '@meterstream/core/testing';
import { runJson } from './lib.mjs';
import { consumerPerformance } from './java.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const SCHEMA_IDS = { MeterReading: 1, MeterReadingBatch: 2 };

function registryServer(codec) {
  const byId = new Map(Object.entries(SCHEMA_IDS).map(([record, id]) => [id, codec.schemas.reader(record).canonical]));
  const server = createServer((req, res) => {
    const m = /^\/schemas\/ids\/(\d+)/.exec(req.url ?? '');
    const schema = m && byId.get(Number(m[1]));
    res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    if (!schema) {
      res.statusCode = 404;
      return res.end('{"error_code":40403,"message":"Schema not found"}');
    }
    res.end(JSON.stringify({ schema }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function preload(kafka, codec, topic, partitions, scenario, meters) {
  await createTopic(kafka, topic, partitions);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  // Relative to now, inside the raw retention (90 days); ingest-floor.mjs uses the same start.
  const t0 = utcDaysAgo(30);
  const id = SCHEMA_IDS[scenario.record];
  let buffer = [];
  let messages = 0;
  let bytes = 0;
  const flush = async () => {
    if (buffer.length) await producer.send({ topic, messages: buffer, acks: 1 });
    buffer = [];
  };
  const meterId = (i) => `707057500${String(i).padStart(9, '0')}`;
  if (scenario.record === 'MeterReading') {
    for (let i = 0; i < scenario.readings; i++) {
      const m = i % meters;
      const v = codec.encodeConfluent(id, 'MeterReading', {
        meterId: meterId(m),
        tenant: 'default',
        kind: 'WATER',
        unit: 'L',
        readingType: 'INTERVAL',
        ts: t0 + Math.floor(i / meters) * 3_600_000,
        intervalSeconds: 3600,
        value: (i % 97) / 10,
        quality: 'MEASURED',
        zoneId: null,
        priceArea: null,
      });
      buffer.push({ key: meterId(m), value: v });
      messages++;
      bytes += v.length;
      if (buffer.length === 20000) await flush();
    }
  } else {
    const n = Math.ceil(scenario.readings / scenario.perBatch);
    for (let i = 0; i < n; i++) {
      const m = i % meters;
      const day = t0 + Math.floor(i / meters) * 86_400_000;
      const v = codec.encodeConfluent(id, 'MeterReadingBatch', {
        meterId: meterId(m),
        tenant: 'default',
        kind: 'ELECTRICITY_IMPORT',
        unit: 'KWH',
        readingType: 'INTERVAL',
        intervalSeconds: 900,
        zoneId: null,
        priceArea: 'NO1',
        readings: Array.from({ length: scenario.perBatch }, (_, q) => ({
          ts: day + q * 900_000,
          value: ((i + q) % 50) / 100,
          quality: 'MEASURED',
        })),
      });
      buffer.push({ key: meterId(m), value: v });
      messages++;
      bytes += v.length;
      if (buffer.length === 500) await flush();
    }
  }
  await flush();
  await producer.disconnect();
  return {
    messages,
    bytes,
    readings:
      scenario.record === 'MeterReading'
        ? scenario.readings
        : Math.ceil(scenario.readings / scenario.perBatch) * scenario.perBatch,
  };
}

/**
 * The ceilings on the same topic, each in its own process: kafkajs consume-only, Kafka's Java
 * ConsumerPerformance (its fetch-only rate: after the group's rebalance, as our clock starts at
 * the first fetch), and ClickHouse's insert of as many readings_raw rows from numbers().
 * Each gets `readingsPerSec` (messages/s × readings per message for the consumers).
 */
async function runBaselines({ env, topic, loaded, meters, scenario }) {
  const perMessage = loaded.readings / loaded.messages;
  const kafkajs = await runJson(join(here, 'ingest-kafkajs.mjs'), env, 'kafkajs consume-only');
  console.error(`[ingest] ${scenario.name}: kafkajs consume-only ${Math.round(kafkajs.msgPerSec)} msg/s`);
  const cp = await consumerPerformance({
    brokers: process.env.KAFKA_BROKERS,
    topic,
    messages: loaded.messages,
    group: `${topic}-consumer-perf`,
  });
  const consumerPerf = { ...cp, readingsPerSec: cp.fetchMsgPerSec * perMessage };
  console.error(
    `[ingest] ${scenario.name}: ConsumerPerformance ${Math.round(cp.fetchMsgPerSec)} msg/s fetching (${Math.round(cp.msgPerSec)} with the join)`,
  );
  const insertFloor = await runJson(
    join(here, 'ingest-floor.mjs'),
    { ...env, BENCH_METERS: String(meters), BENCH_PER_BATCH: String(scenario.perBatch ?? 1) },
    'ClickHouse insert floor',
  );
  console.error(
    `[ingest] ${scenario.name}: ClickHouse INSERT ... SELECT FROM numbers(): ${insertFloor.runsSeconds.map((x) => x.toFixed(2)).join(' / ')} s`,
  );
  return { kafkajs, consumerPerf, insertFloor };
}

export async function run() {
  const spec = JSON.parse(readFileSync(join(here, 'scenarios', process.env.BENCH_SCENARIO || 'ingest.json'), 'utf8'));
  const codec = new AvroCodec();
  const registry = await registryServer(codec);
  const registryUrl = `http://127.0.0.1:${registry.address().port}`;
  const kafka = new Kafka({
    clientId: 'bench',
    brokers: process.env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  });
  const results = [];
  try {
    for (const scenario of spec.scenarios) {
      const topic = `bench-${scenario.name}-${Date.now()}`;
      const loaded = await preload(kafka, codec, topic, spec.partitions, scenario, spec.meters);
      console.error(
        `[ingest] ${scenario.name}: ${loaded.messages} messages, ${loaded.readings} readings, ${(loaded.bytes / loaded.messages).toFixed(0)} bytes/message`,
      );
      const env = {
        BENCH_TOPIC: topic,
        BENCH_READINGS: String(loaded.readings),
        BENCH_MESSAGES: String(loaded.messages),
        BENCH_RECORD: scenario.record,
        SCHEMA_REGISTRY_URL: registryUrl,
      };
      // BENCH_PROFILE=1 writes a V8 CPU profile of our run to benchmarks/results/profiles/.
      const profile = process.env.BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`]
        : [];
      const ours = await runJson(join(here, 'ingest-ours.mjs'), env, 'meterstream ingestor', profile);
      console.error(`[ingest] ${scenario.name}: meterstream ${Math.round(ours.readingsPerSec)} readings/s`);
      const peer = process.env.BENCH_SKIP_PEER
        ? { readingsPerSec: NaN, peakRssBytes: NaN }
        : await runJson(join(here, 'ingest-peer.mjs'), env, 'ClickHouse Kafka engine');
      console.error(`[ingest] ${scenario.name}: ClickHouse Kafka engine ${Math.round(peer.readingsPerSec)} readings/s`);
      const baselines = process.env.BENCH_SKIP_BASELINES
        ? {}
        : await runBaselines({ env, topic, loaded, meters: spec.meters, scenario });
      const ratios = { chKafkaEngine: ours.readingsPerSec / peer.readingsPerSec };
      for (const [name, b] of Object.entries(baselines)) ratios[name] = ours.readingsPerSec / b.readingsPerSec;
      for (const [name, r] of Object.entries(ratios))
        console.error(`[ingest] ${scenario.name}: meterstream / ${name} = ${r.toFixed(2)}x`);
      results.push({
        scenario: scenario.name,
        ...loaded,
        bytesPerMessage: Math.round(loaded.bytes / loaded.messages),
        ours,
        peer,
        baselines,
        ratio: ratios.chKafkaEngine,
        ratios,
      });
    }
  } finally {
    registry.close();
  }
  const report = {
    bench: 'ingest',
    at: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    results,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', `ingest-${report.at.replace(/[:.]/g, '-')}.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log('\ningest benchmark (readings/s from first fetch to last insert)');
  console.log(
    'scenario  | meterstream readings/s | p50 / p99 batch ms | peak RSS MB | ClickHouse Kafka engine readings/s | peak RSS MB | ratio',
  );
  for (const r of results) {
    console.log(
      `${r.scenario.padEnd(9)} | ${Math.round(r.ours.readingsPerSec).toLocaleString('en').padStart(22)} | ${r.ours.p50BatchMs} / ${r.ours.p99BatchMs} | ${Math.round(r.ours.peakRssBytes / 2 ** 20)} | ${Math.round(r.peer.readingsPerSec).toLocaleString('en').padStart(34)} | ${Math.round(r.peer.peakRssBytes / 2 ** 20)} | ${r.ratio.toFixed(2)}x`,
    );
  }
  if (results.some((r) => r.baselines.kafkajs)) {
    const fmt = (x) => Math.round(x).toLocaleString('en');
    console.log('\nratios to the baselines on the same topic (meterstream readings/s / baseline readings/s)');
    console.log(
      'scenario  | kafkajs consume-only msg/s | ratio | ConsumerPerformance msg/s (fetch) | ratio | ClickHouse insert floor readings/s | ratio',
    );
    for (const r of results) {
      const b = r.baselines;
      if (!b.kafkajs) continue;
      console.log(
        `${r.scenario.padEnd(9)} | ${fmt(b.kafkajs.msgPerSec).padStart(26)} | ${r.ratios.kafkajs.toFixed(2)}x | ${fmt(b.consumerPerf.fetchMsgPerSec).padStart(33)} | ${r.ratios.consumerPerf.toFixed(2)}x | ${fmt(b.insertFloor.readingsPerSec).padStart(34)} | ${r.ratios.insertFloor.toFixed(2)}x`,
      );
    }
  }
  return report;
}
