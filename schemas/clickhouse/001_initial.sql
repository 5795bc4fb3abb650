-- meterstream tables. {{db}} and {{ttl:<table>}} are filled in from the configuration;
-- TTLs are re-applied on every start when the configuration changed them.
-- Every `meter` column holds the pseudonym, never a raw meter ID.

-- One row per distinct (tenant, meter, kind, reading_type, ts): a register index and an interval
-- volume stamped at the same time are two readings. ReplacingMergeTree(version) makes a
-- redelivered duplicate change nothing and a correction replace the value it corrects:
-- version = quality rank (ESTIMATED 0 < MEASURED 1 < CORRECTED 2) * 2^48 + source offset, so a
-- higher-quality value wins and, at equal quality, the later delivery wins. Read with FINAL.
-- (Databases created before 012 were keyed by (tenant, meter, kind, ts); 012 rebuilds them.)
CREATE TABLE IF NOT EXISTS {{db}}.readings_raw
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
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, meter, kind, reading_type, ts)
TTL {{ttl:readings_raw}};

-- The ingestor writes one row per meter and Kafka batch (a clean batch: the header once, the
-- readings as arrays) into this Null table; the view spreads it into readings_raw. ClickHouse
-- parses the header once per meter instead of once per reading, which more than halves the
-- insert cost of daily 96-value deliveries. Quality is the rank above.
CREATE TABLE IF NOT EXISTS {{db}}.readings_raw_inbox
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
    source_offsets Array(UInt64)
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.readings_raw_inbox_mv TO {{db}}.readings_raw AS
SELECT
    tenant, meter, kind, unit, reading_type,
    fromUnixTimestamp64Milli(r_ts, 'UTC') AS ts,
    interval_seconds,
    r_value AS value,
    arrayElement(['ESTIMATED', 'MEASURED', 'CORRECTED'], r_rank + 1) AS quality,
    zone_id, price_area, source_partition,
    r_offset AS source_offset,
    toUInt64(r_rank) * 281474976710656 + r_offset AS version
FROM {{db}}.readings_raw_inbox
ARRAY JOIN ts_ms AS r_ts, values AS r_value, quality_ranks AS r_rank, source_offsets AS r_offset;

-- Hourly roll-ups per (tenant, meter, kind, hour UTC), written by the aggregator.
CREATE TABLE IF NOT EXISTS {{db}}.readings_hourly
(
    tenant LowCardinality(String),
    meter String,
    kind LowCardinality(String),
    unit LowCardinality(String),
    hour DateTime('UTC'),
    value_sum Float64,
    value_min Float64,
    value_max Float64,
    samples UInt32,
    first_ts DateTime64(3, 'UTC'),
    last_ts DateTime64(3, 'UTC'),
    coverage Float32,
    zone_id LowCardinality(Nullable(String)),
    version UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, meter, kind, hour)
TTL {{ttl:readings_hourly}};

-- Alert state and history, one row per (alert, version), written by the anomaly service.
CREATE TABLE IF NOT EXISTS {{db}}.alerts
(
    alert_id String,
    dedup_key String,
    type LowCardinality(String),
    status LowCardinality(String),
    severity LowCardinality(String),
    tenant LowCardinality(String),
    meter String,
    zone_id LowCardinality(Nullable(String)),
    starts_at DateTime64(3, 'UTC'),
    ends_at Nullable(DateTime64(3, 'UTC')),
    summary String,
    details Map(String, Float64),
    version UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, meter, type, dedup_key)
TTL {{ttl:alerts}};

-- The result of every invoice check (bookkeeping: kept for years after the fiscal year).
CREATE TABLE IF NOT EXISTS {{db}}.invoice_checks
(
    invoice_id String,
    tenant LowCardinality(String),
    meter String,
    kind LowCardinality(String),
    period_start DateTime64(3, 'UTC'),
    period_end DateTime64(3, 'UTC'),
    billed_quantity Float64,
    metered_quantity Nullable(Float64),
    unit LowCardinality(String),
    coverage Float32,
    outcome LowCardinality(String),
    version UInt64,
    checked_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, meter, invoice_id)
TTL {{ttl:invoice_checks}};
