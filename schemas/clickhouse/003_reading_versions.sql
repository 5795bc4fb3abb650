-- Reading versions by the producer's intent (issue 10): the ingestor computes each reading's
-- version (quality rank * 2^48 + 2^47 + the raw record's Kafka timestamp in ms; see
-- services/ingestor/src/transforms/reading-version.ts) and writes it into this inbox, whose view
-- copies it into readings_raw. The old encoding (rank * 2^48 + source offset) needs no rewrite:
-- offsets stay below 2^47, so an old row of rank r sorts below every new delivery of rank r and
-- above every new delivery of a lower rank. The v1 inbox and its view stay for ingestors of the
-- previous release during a rolling upgrade; nothing new writes to them. The v2 inbox also
-- carries a register's stated capacity (CleanReadingBatch v2 `registerModulus`) into
-- readings_raw.register_modulus (the column 004 declares too: whichever runs first adds it).
ALTER TABLE {{db}}.readings_raw
    ADD COLUMN IF NOT EXISTS register_modulus Nullable(Float64);

CREATE TABLE IF NOT EXISTS {{db}}.readings_raw_inbox_v2
(
    tenant String,
    meter String,
    kind String,
    unit String,
    reading_type String,
    interval_seconds UInt32,
    zone_id Nullable(String),
    price_area Nullable(String),
    source_partition UInt32,
    ts_ms Array(Int64),
    values Array(Float64),
    quality_ranks Array(UInt8),
    source_offsets Array(UInt64),
    versions Array(UInt64),
    register_modulus Nullable(Float64)
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.readings_raw_inbox_v2_mv TO {{db}}.readings_raw AS
SELECT
    tenant, meter, kind, unit, reading_type,
    fromUnixTimestamp64Milli(r_ts, 'UTC') AS ts,
    interval_seconds,
    r_value AS value,
    arrayElement(['ESTIMATED', 'MEASURED', 'CORRECTED'], r_rank + 1) AS quality,
    zone_id, price_area, source_partition,
    r_offset AS source_offset,
    r_version AS version,
    register_modulus
FROM {{db}}.readings_raw_inbox_v2
ARRAY JOIN ts_ms AS r_ts, values AS r_value, quality_ranks AS r_rank, source_offsets AS r_offset, versions AS r_version;
