// The peer: ClickHouse's own Kafka table engine (in chDB, the same engine meterstream embeds)
// reading the same pre-loaded topic (AvroConfluent, schemas from the same registry) through a
// materialized view into a MergeTree. Clock: the view's creation (consumption starts) → all
// readings counted in the MergeTree. Prints a JSON result line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { rssSampler } from './lib.mjs';

const topic = process.env.BENCH_TOPIC;
const readings = Number(process.env.BENCH_READINGS);
const batch = process.env.BENCH_RECORD === 'MeterReadingBatch';
const dataDir = mkdtempSync(join(tmpdir(), 'meterstream-peer-'));
const rss = rssSampler();
const ch = createClient({ connection: createChdbConnection({ path: dataDir }) });
const cmd = (query) => ch.command({ query });

await cmd('CREATE DATABASE peer');
await cmd(`CREATE TABLE peer.readings_raw (
  tenant LowCardinality(String), meter_id String, kind LowCardinality(String), unit LowCardinality(String),
  reading_type LowCardinality(String), ts DateTime64(3, 'UTC'), interval_seconds UInt32, value Float64,
  quality LowCardinality(String), zone_id LowCardinality(Nullable(String)), price_area LowCardinality(Nullable(String))
) ENGINE = ReplacingMergeTree ORDER BY (tenant, meter_id, kind, ts)`);
const header = `meterId String, tenant String, kind String, unit String, readingType String,`;
const columns = batch
  ? `${header} intervalSeconds Int32, zoneId Nullable(String), priceArea Nullable(String), readings Array(Tuple(ts DateTime64(3, 'UTC'), value Float64, quality String))`
  : `${header} ts DateTime64(3, 'UTC'), intervalSeconds Int32, value Float64, quality String, zoneId Nullable(String), priceArea Nullable(String)`;
await cmd(`CREATE TABLE peer.source (${columns}) ENGINE = Kafka SETTINGS
  kafka_broker_list = '${process.env.KAFKA_BROKERS}', kafka_topic_list = '${topic}', kafka_group_name = '${topic}-peer',
  kafka_format = 'AvroConfluent', format_avro_schema_registry_url = '${process.env.SCHEMA_REGISTRY_URL}',
  kafka_num_consumers = 2, kafka_thread_per_consumer = 1, kafka_max_block_size = 1048576`);
const t0 = process.hrtime.bigint();
await cmd(
  batch
    ? `CREATE MATERIALIZED VIEW peer.mv TO peer.readings_raw AS
       SELECT tenant, meterId AS meter_id, kind, unit, readingType AS reading_type, r.1 AS ts, intervalSeconds AS interval_seconds,
              r.2 AS value, r.3 AS quality, zoneId AS zone_id, priceArea AS price_area
       FROM peer.source ARRAY JOIN readings AS r`
    : `CREATE MATERIALIZED VIEW peer.mv TO peer.readings_raw AS
       SELECT tenant, meterId AS meter_id, kind, unit, readingType AS reading_type, ts, intervalSeconds AS interval_seconds,
              value, quality, zoneId AS zone_id, priceArea AS price_area
       FROM peer.source`,
);
let n = 0;
const deadline = Date.now() + 600_000;
while (n < readings) {
  if (Date.now() > deadline) throw new Error(`peer stalled at ${n} of ${readings} rows`);
  await new Promise((r) => setTimeout(r, 50));
  const rs = await ch.query({
    query: 'SELECT count() AS n FROM peer.readings_raw',
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  n = (await rs.json())[0].n;
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const peak = rss.stop();
await cmd('DROP TABLE peer.mv');
await cmd('DROP TABLE peer.source');
await ch.close();
rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify({ seconds, readingsPerSec: readings / seconds, peakRssBytes: peak, rows: n }));
process.exit(0);
