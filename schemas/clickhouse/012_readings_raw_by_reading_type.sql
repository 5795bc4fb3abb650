-- readings_raw keyed by reading type (issue 10): one row per (tenant, meter, kind, reading_type,
-- ts). Keyed by (tenant, meter, kind, ts), a REGISTER and an INTERVAL reading of one meter and
-- kind stamped at the same time (a hub's quarter-hour volume and its register index at the same
-- boundary) were one row, and FINAL kept only the one with the higher version. ClickHouse cannot
-- put an existing column into a sorting key, so the table is rebuilt: a copy under the new key,
-- an atomic EXCHANGE, then the rows written to the old table during the copy, then the old table
-- goes. The materialized views (readings_raw_inbox_mv, readings_raw_inbox_v2_mv) resolve their
-- target by name when they insert, so from the EXCHANGE on they write to the new table.
--
-- Every step carries guards (`-- when:`) saying which state it belongs to, so a run that died
-- anywhere continues where it stopped on the next start (the file is recorded only at its end):
--   old key on readings_raw          -> copy target made, start time marked, rows copied, swap;
--   old key on readings_raw_rekeyed  -> (the old table after the swap) the rows written during
--                                       the copy are copied again, erasures re-applied, dropped.
-- A fresh install gets the new key from 001 and skips the file (`needed when`). On a cluster the
-- file stops the start instead, with the procedure by hand (docs/scaling.md).
--
-- needed when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND ((name = 'readings_raw{{local}}' AND sorting_key = 'tenant, meter, kind, ts') OR name IN ('readings_raw_rekeyed{{local}}', 'readings_raw_rekey_mark'))

-- The new table: the columns, partitioning, TTL and settings of readings_raw, the key gains
-- reading_type.
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw' AND sorting_key = 'tenant, meter, kind, ts'
CREATE TABLE IF NOT EXISTS {{db}}.readings_raw_rekeyed
(
    tenant LowCardinality(String),
    meter String,
    kind LowCardinality(String),
    unit LowCardinality(String),
    reading_type LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    interval_seconds UInt32,
    value Float64,
    quality LowCardinality(String),
    zone_id LowCardinality(Nullable(String)),
    price_area LowCardinality(Nullable(String)),
    source_partition UInt32,
    source_offset UInt64,
    version UInt64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    register_modulus Nullable(Float64)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, meter, kind, reading_type, ts)
TTL {{ttl:readings_raw}}
SETTINGS non_replicated_deduplication_window = 1000;

-- When the first copy started (kept across restarts): rows the ingestors write to the old table
-- from then until the swap are copied again after it.
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw' AND sorting_key = 'tenant, meter, kind, ts'
CREATE TABLE IF NOT EXISTS {{db}}.readings_raw_rekey_mark (started_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY started_at;

-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw' AND sorting_key = 'tenant, meter, kind, ts'
-- when: SELECT count() = 0 FROM {{db}}.readings_raw_rekey_mark
INSERT INTO {{db}}.readings_raw_rekey_mark SELECT now64(3);

-- Every stored row, merged or not (rows of both types at one time that no merge has collapsed
-- yet are both kept). One thread reads the parts in order and inserts in that order, so of two
-- rows with equal versions the one stored last still wins. A copy repeated after a restart
-- adds identical rows, which FINAL and merges collapse.
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw' AND sorting_key = 'tenant, meter, kind, ts'
INSERT INTO {{db}}.readings_raw_rekeyed
    (tenant, meter, kind, unit, reading_type, ts, interval_seconds, value, quality, zone_id, price_area,
     source_partition, source_offset, version, ingested_at, register_modulus)
SELECT tenant, meter, kind, unit, reading_type, ts, interval_seconds, value, quality, zone_id, price_area,
       source_partition, source_offset, version, ingested_at, register_modulus
FROM {{db}}.readings_raw
SETTINGS max_threads = 1, max_insert_threads = 1;

-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw' AND sorting_key = 'tenant, meter, kind, ts'
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw_rekeyed' AND sorting_key = 'tenant, meter, kind, reading_type, ts'
EXCHANGE TABLES {{db}}.readings_raw AND {{db}}.readings_raw_rekeyed;

-- The rows written to the old table while the copy ran (an hour's margin for inserts that
-- started before the mark and were stored after the copy's snapshot; a row copied twice changes
-- nothing).
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw_rekeyed' AND sorting_key = 'tenant, meter, kind, ts'
INSERT INTO {{db}}.readings_raw
    (tenant, meter, kind, unit, reading_type, ts, interval_seconds, value, quality, zone_id, price_area,
     source_partition, source_offset, version, ingested_at, register_modulus)
SELECT tenant, meter, kind, unit, reading_type, ts, interval_seconds, value, quality, zone_id, price_area,
       source_partition, source_offset, version, ingested_at, register_modulus
FROM {{db}}.readings_raw_rekeyed
WHERE ingested_at >= (SELECT min(started_at) FROM {{db}}.readings_raw_rekey_mark) - INTERVAL 1 HOUR
SETTINGS max_threads = 1, max_insert_threads = 1;

-- An erasure during the copy deleted the meter's rows from the old table (and from the new one
-- as far as they had arrived): what the copy brought over after it goes now. A blocked meter has
-- no rows in readings_raw anywhere else either.
-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw_rekeyed' AND sorting_key = 'tenant, meter, kind, ts'
-- when: SELECT count() FROM {{db}}.readings_raw WHERE meter IN (SELECT pseudonym FROM {{db}}.meter_blocks GROUP BY pseudonym HAVING argMax(blocked, at) = 1)
ALTER TABLE {{db}}.readings_raw DELETE WHERE meter IN (SELECT pseudonym FROM {{db}}.meter_blocks GROUP BY pseudonym HAVING argMax(blocked, at) = 1) SETTINGS mutations_sync = 2;

-- when: SELECT count() FROM system.tables WHERE database = '{{db}}' AND name = 'readings_raw_rekeyed' AND sorting_key = 'tenant, meter, kind, ts'
DROP TABLE IF EXISTS {{db}}.readings_raw_rekeyed SYNC;

DROP TABLE IF EXISTS {{db}}.readings_raw_rekey_mark SYNC;
