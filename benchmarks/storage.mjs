// `npm run bench -- storage`: bytes per stored row, for the capacity model (docs/scaling.md).
// Writes a representative load into the real tables (the migrations' DDL, embedded ClickHouse):
// quarter-hour readings of a mixed fleet with pseudonym-like meter IDs and 3-decimal values,
// ingested about a day late, and their hourly rows; merges them (OPTIMIZE FINAL, as the
// background merges will) and reports system.parts' compressed bytes per row, per table.
// Not a timed benchmark: the figure is the data's size, not a speed.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse, loadConfig, migrate } from '@meterstream/core';

const METERS = Number(process.env.BENCH_STORAGE_METERS || 2000);
const DAYS = Number(process.env.BENCH_STORAGE_DAYS || 14);

export async function run() {
  const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-storage-')) });
  const ch = await createClickHouse(config.clickhouse);
  const db = 'storage';
  try {
    await migrate(ch, { database: db, retention: config.retention });
    // Days before today: inside every retention.
    const start = `toStartOfDay(now('UTC')) - toIntervalDay(${DAYS + 1})`;
    const kinds = `['WATER', 'ELECTRICITY_IMPORT', 'HEAT', 'TEMPERATURE']`;
    const units = `['L', 'KWH', 'KWH', 'CELSIUS']`;
    const n = METERS * DAYS * 96;
    await ch.command({
      query: `INSERT INTO ${db}.readings_raw
        (tenant, meter, kind, unit, reading_type, ts, interval_seconds, value, quality, zone_id, price_area,
         source_partition, source_offset, version, ingested_at)
        SELECT 'default', substring(lower(hex(MD5(toString(m)))), 1, 32), ${kinds}[m % 4 + 1], ${units}[m % 4 + 1],
               if(m % 4 = 3, 'INSTANT', 'INTERVAL'), t, if(m % 4 = 3, 0, 900),
               if(m % 4 = 3, round(15 + 5 * sin(i / 40) + (cityHash64(m, i) % 100) / 100, 2),
                  round((cityHash64(m, i) % 100000) / 1000, 3)),
               'MEASURED', concat('zone-', toString(m % 50)), 'NO1', m % 12, i, 281474976710656 + i,
               t + toIntervalSecond(86400 + cityHash64(m, intDiv(i, 96)) % 7200)
        FROM (SELECT number % ${METERS} AS m, intDiv(number, ${METERS}) AS i,
                     toDateTime64(${start}, 3, 'UTC') + toIntervalMinute(15 * i) AS t
              FROM numbers(${n}))`,
    });
    await ch.command({
      query: `INSERT INTO ${db}.readings_hourly
        (tenant, meter, kind, unit, hour, value_sum, value_min, value_max, samples, first_ts, last_ts, coverage,
         zone_id, version)
        SELECT tenant, meter, kind, any(unit), toStartOfHour(ts) AS hour, sum(value), min(value), max(value), count(),
               min(ts), max(ts), 1, any(zone_id), toUnixTimestamp64Milli(max(ingested_at))
        FROM ${db}.readings_raw GROUP BY tenant, meter, kind, hour`,
    });
    for (const t of ['readings_raw', 'readings_hourly']) await ch.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` });
    const rs = await ch.query({
      query: `SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS compressed,
                     sum(data_uncompressed_bytes) AS uncompressed, sum(bytes_on_disk) AS on_disk
              FROM system.parts WHERE active AND database = '${db}' AND table IN ('readings_raw', 'readings_hourly')
              GROUP BY table ORDER BY table`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const tables = (await rs.json()).map((r) => ({
      ...r,
      compressedBytesPerRow: +(r.compressed / r.rows).toFixed(2),
      onDiskBytesPerRow: +(r.on_disk / r.rows).toFixed(2),
      uncompressedBytesPerRow: +(r.uncompressed / r.rows).toFixed(2),
    }));
    const report = { bench: 'storage', date: new Date().toISOString(), meters: METERS, days: DAYS, tables };
    const dir = join(fileURLToPath(import.meta.url), '..', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `storage-${report.date.replace(/[:.]/g, '-')}.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await ch.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
