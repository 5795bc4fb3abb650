// Aggregate benchmark: readings/s rolled up into readings_hourly by the aggregator (piscina
// workers: 1, 2, default), peak RSS and transient heap per meter-hour; beside ClickHouse doing
// the same roll-up itself (INSERT ... SELECT ... GROUP BY over readings_raw FINAL) in the same
// embedded engine, and beside a Kafka Streams application (Java, exactly-once v2, windowed
// aggregation in a local state store; benchmarks/java/) rolling up the same clean topic. The
// readings are ingested once by the real ingestor, so readings_raw and the clean topic hold the
// same data for every run. One process (one embedded engine), the Streams peer in its own JVM.
import { availableParallelism, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { AvroCodec, createClickHouse, createKafka, createRegistry, loadConfig, migrate } from '@meterstream/core';
import { createTopic, utcDaysAgo } from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import { benchLogger, caughtUp, rssSampler } from './lib.mjs';
import { startStreamsRollup } from './java.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

export async function run() {
  const spec = JSON.parse(
    readFileSync(join(here, 'scenarios', process.env.BENCH_SCENARIO || 'aggregate.json'), 'utf8'),
  );
  const topic = `bench-agg-${Date.now()}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'meterstream-bench-agg-'));
  const base = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    METERSTREAM_PSEUDONYM_KEY: 'c3'.repeat(32),
    METERSTREAM_DATA_DIR: dataDir,
    METERSTREAM_TOPIC_READINGS: topic,
    METERSTREAM_TOPIC_CLEAN: `${topic}-clean`,
    METERSTREAM_TOPIC_DLQ: `${topic}-dlq`,
    METERSTREAM_TOPIC_HOURLY: `${topic}-hourly`,
    METERSTREAM_INGESTOR_GROUP_ID: `${topic}-ingestor`,
    METERSTREAM_INSTANCE_ID: 'bench',
    LOG_LEVEL: 'warn',
  };
  const config = loadConfig(base);
  const logger = benchLogger();
  const kafka = createKafka(config.kafka, config.kafka.brokers, logger);
  const clickhouse = await createClickHouse(config.clickhouse);
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  const db = config.clickhouse.database;
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

  // 1. Preload and ingest once.
  const codec = new AvroCodec();
  const plain = new Kafka({ clientId: 'bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  await createTopic(plain, topic, spec.partitions);
  const producer = plain.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Placed relative to now, inside the raw retention (90 days), whatever day the bench runs.
  const day0 = utcDaysAgo(spec.days + 7);
  let readings = 0;
  for (let d = 0; d < spec.days; d++) {
    const messages = [];
    for (let m = 0; m < spec.meters; m++) {
      const meterId = `707057500${String(m).padStart(9, '0')}`;
      messages.push({
        key: meterId,
        value: codec.encodeSingleObject('MeterReadingBatch', {
          meterId,
          tenant: 'default',
          kind: 'ELECTRICITY_IMPORT',
          unit: 'KWH',
          readingType: 'INTERVAL',
          intervalSeconds: 900,
          zoneId: null,
          priceArea: 'NO1',
          readings: Array.from({ length: spec.perBatch }, (_, q) => ({
            ts: day0 + d * 86_400_000 + q * 900_000,
            value: ((m + q) % 40) / 100,
            quality: 'MEASURED',
          })),
        }),
      });
      readings += spec.perBatch;
    }
    for (let i = 0; i < messages.length; i += 1000)
      await producer.send({ topic, messages: messages.slice(i, i + 1000) });
  }
  await producer.disconnect();
  const ingestor = new Ingestor({
    config,
    pseudonymKey: config.pseudonymKey,
    kafka,
    clickhouse,
    registry: createRegistry('ingestor'),
    logger,
  });
  const admin = kafka.admin();
  await admin.connect();
  await ingestor.start();
  await caughtUp(admin, config.ingestor.groupId, topic);
  await ingestor.close();
  console.error(
    `[aggregate] ${readings} readings ingested (${spec.meters} meters x ${spec.days} days x ${spec.perBatch})`,
  );
  const meterHours = spec.meters * spec.days * 24;

  // 2. Ours, with 1, 2 and the default number of workers, each from the start of the clean topic.
  const defaultWorkers = availableParallelism();
  const runs = [];
  for (const [label, workers] of [
    ['1 worker', 1],
    ['2 workers', 2],
    [`default (${defaultWorkers})`, defaultWorkers],
  ]) {
    await clickhouse.command({ query: `TRUNCATE TABLE ${db}.readings_hourly` });
    const cfg = loadConfig({
      ...base,
      METERSTREAM_AGGREGATOR_WORKERS: String(workers),
      METERSTREAM_AGGREGATOR_GROUP_ID: `${topic}-agg-${workers}-${runs.length}`,
    });
    global.gc?.();
    const heapBase = process.memoryUsage().heapUsed;
    let heapPeak = heapBase;
    const heapTimer = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
    const rss = rssSampler();
    const registry = createRegistry('aggregator');
    const aggregator = new Aggregator({ config: cfg, kafka, clickhouse, registry, logger });
    let first = null;
    let biggestBatch = 0;
    aggregator.consumer.on(aggregator.consumer.events.FETCH_START, () => (first ??= process.hrtime.bigint()));
    aggregator.consumer.on(
      aggregator.consumer.events.END_BATCH_PROCESS,
      (e) => (biggestBatch = Math.max(biggestBatch, e.payload.batchSize)),
    );
    await aggregator.start();
    const done = await caughtUp(admin, cfg.aggregator.groupId, cfg.topics.clean);
    const seconds = Number(done - first) / 1e9;
    clearInterval(heapTimer);
    const peak = rss.stop();
    const phases = {};
    for (const m of await registry.getMetricsAsJSON()) {
      if (m.type !== 'histogram') continue;
      for (const v of m.values)
        if (v.metricName?.endsWith('_sum'))
          phases[v.labels.phase ?? v.labels.table ?? m.name] = Number(v.value.toFixed(3));
    }
    await aggregator.close();
    const rows = await count(`SELECT count() AS n FROM ${db}.readings_hourly FINAL`);
    if (rows !== meterHours) throw new Error(`${label}: ${rows} hourly rows, expected ${meterHours}`);
    // Meter-hours in flight at the peak: a clean batch holds one meter-day (24 hours); two batches at once.
    const inFlightMeterHours = biggestBatch * 24 * cfg.aggregator.concurrency;
    runs.push({
      label,
      workers,
      seconds,
      readingsPerSec: readings / seconds,
      peakRssBytes: peak,
      transientHeapBytesPerMeterHour: (heapPeak - heapBase) / inFlightMeterHours,
      rows,
      phaseSeconds: phases,
    });
    console.error(`[aggregate] phases (s): ${JSON.stringify(phases)}`);
    console.error(`[aggregate] meterstream, ${label}: ${Math.round(readings / seconds)} readings/s`);
  }

  // 3. The peer: ClickHouse rolls the same readings up itself.
  await clickhouse.command({ query: `CREATE TABLE ${db}.hourly_peer AS ${db}.readings_hourly` });
  const t0 = process.hrtime.bigint();
  await clickhouse.command({
    query: `INSERT INTO ${db}.hourly_peer (tenant, meter, kind, unit, hour, value_sum, value_min, value_max, samples, first_ts, last_ts, coverage, zone_id, version)
            SELECT tenant, meter, kind, any(unit), toStartOfHour(ts) AS h, sum(value), min(value), max(value), count(), min(ts), max(ts),
                   least(1, sum(interval_seconds) / 3600), any(zone_id), max(source_offset)
            FROM ${db}.readings_raw FINAL GROUP BY tenant, meter, kind, h`,
  });
  const peerSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const peerRows = await count(`SELECT count() AS n FROM ${db}.hourly_peer`);
  const peer = { seconds: peerSeconds, readingsPerSec: readings / peerSeconds, rows: peerRows };
  console.error(`[aggregate] ClickHouse INSERT ... SELECT ... GROUP BY: ${Math.round(peer.readingsPerSec)} readings/s`);

  // 4. The streaming peer: Kafka Streams rolls up the same clean topic.
  const streams = process.env.BENCH_SKIP_PEER
    ? null
    : await runStreamsPeer({ config, kafka, plain, admin, count, readings, meterHours, partitions: spec.partitions });

  await admin.disconnect();
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
  const report = {
    bench: 'aggregate',
    at: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    readings,
    meterHours,
    runs,
    peer,
    streams,
    ratios: runs.map((r) => ({
      label: r.label,
      clickhouseGroupBy: r.readingsPerSec / peer.readingsPerSec,
      kafkaStreams: streams ? r.readingsPerSec / streams.readingsPerSec : null,
    })),
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', `aggregate-${report.at.replace(/[:.]/g, '-')}.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log(
    '\naggregate benchmark (readings/s from first fetch of the clean topic to the last hourly row committed)',
  );
  console.log(
    'run          | readings/s | peak RSS MB | transient heap B/meter-hour | ratio to ClickHouse GROUP BY | ratio to Kafka Streams',
  );
  for (const r of runs)
    console.log(
      `${r.label.padEnd(12)} | ${Math.round(r.readingsPerSec).toLocaleString('en').padStart(10)} | ${Math.round(
        r.peakRssBytes / 2 ** 20,
      )
        .toString()
        .padStart(
          11,
        )} | ${Math.round(r.transientHeapBytesPerMeterHour).toString().padStart(27)} | ${(r.readingsPerSec / peer.readingsPerSec).toFixed(2).padStart(27)}x | ${streams ? `${(r.readingsPerSec / streams.readingsPerSec).toFixed(2)}x` : '—'}`,
    );
  console.log(
    `ClickHouse INSERT ... SELECT ... GROUP BY: ${Math.round(peer.readingsPerSec).toLocaleString('en')} readings/s (${peerRows} rows)`,
  );
  if (streams)
    console.log(
      `Kafka Streams (exactly_once_v2, ${streams.threads} thread(s)): ${Math.round(streams.readingsPerSec).toLocaleString('en')} readings/s, peak RSS ${Math.round(streams.peakRssBytes / 2 ** 20)} MB (${streams.rows} meter-hours, ${streams.outputRecords} output records)`,
    );
  return report;
}

/**
 * The Kafka Streams peer (benchmarks/java/, HourlyRollupStreams) over the clean topic, with a
 * fresh application id. Clock: the application reaching RUNNING (partitions assigned, just
 * before its first fetch) → its group's committed offsets reaching the end of the clean topic
 * (under exactly-once v2 the offsets commit in the transaction of the output and changelog
 * records). Then its output topic is read (read_committed): the last row of each (meter, kind,
 * hour) must cover every reading once, with the same total as readings_raw.
 */
async function runStreamsPeer({ config, kafka, plain, admin, count, readings, meterHours, partitions }) {
  const input = config.topics.clean;
  const output = `${input}-streams-out`;
  const appId = `${input}-streams`;
  await createTopic(plain, output, partitions);
  const stateDir = mkdtempSync(join(tmpdir(), 'meterstream-bench-streams-'));
  const threads = Number(process.env.BENCH_STREAMS_THREADS || availableParallelism());
  const app = await startStreamsRollup({
    brokers: config.kafka.brokers.join(','),
    input,
    output,
    appId,
    stateDir,
    threads,
    schemaDir: join(here, '..', 'schemas', 'avro'),
  });
  let done;
  let stopped;
  try {
    done = await Promise.race([
      caughtUp(admin, appId, input),
      app.exited.then((code) => {
        throw new Error(`the Kafka Streams peer exited ${code} before catching up`);
      }),
    ]);
  } finally {
    stopped = await app.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  const seconds = Number(done - app.runningAt) / 1e9;

  // Its rows: the last update of each (meter, kind, hour).
  const last = new Map();
  let outputRecords = 0;
  let counted = 0;
  const consumer = kafka.consumer({ groupId: `${appId}-check` });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  const complete = new Promise((resolve) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          outputRecords++;
          const key = m.key.toString();
          const row = { sum: m.value.readDoubleBE(0), count: Number(m.value.readBigInt64BE(24)) };
          counted += row.count - (last.get(key)?.count ?? 0);
          last.set(key, row);
        }
        if (last.size === meterHours && counted === readings) resolve();
      },
    });
  });
  const timeout = new Promise((_, reject) =>
    setTimeout(
      () =>
        reject(
          new Error(
            `${JSON.stringify(stopped.stats)}: ` +
              `Kafka Streams output: ${last.size} meter-hours covering ${counted} readings, expected ${meterHours} and ${readings}`,
          ),
        ),
      120_000,
    ).unref(),
  );
  await Promise.race([complete, timeout]).finally(() => consumer.disconnect());
  const total = [...last.values()].reduce((a, r) => a + r.sum, 0);
  const expected = await count(`SELECT sum(value) AS n FROM ${config.clickhouse.database}.readings_raw FINAL`);
  if (Math.abs(total - expected) > 1e-6 * Math.max(1, Math.abs(expected)))
    throw new Error(`Kafka Streams output sums to ${total}, readings_raw to ${expected}`);
  const result = {
    threads,
    seconds,
    readingsPerSec: readings / seconds,
    peakRssBytes: stopped.peakRssBytes,
    ...stopped.stats,
    rows: last.size,
    outputRecords,
  };
  console.error(`[aggregate] Kafka Streams peer: ${Math.round(result.readingsPerSec)} readings/s`);
  return result;
}
