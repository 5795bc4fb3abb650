-- The price-weighted invoice check (issue 13 part 3): day-ahead spot prices per price area and
-- hour from meter.prices.v1, and what invoice_checks keeps of an invoice's amount.

-- One row per (price area, currency, hour). A later record of the same hour replaces the price it
-- corrects: version = the record's Kafka timestamp (ms) * 10^6 + its offset mod 10^6. No meter
-- data: prices are public. Kept as long as the hourly rows they price.
CREATE TABLE IF NOT EXISTS {{db}}.spot_prices
(
    price_area LowCardinality(String),
    currency LowCardinality(String),
    hour DateTime('UTC'),
    price Float64,
    version UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (price_area, currency, hour)
TTL {{ttl:spot_prices}};

-- The invoice's amount and what the check expected: Σ hourly kWh x (spot + markup) + fixed fee;
-- price_coverage is the share of the period's hours with a price; reason says what a MISMATCH
-- (quantity, amount) or a PENDING / INSUFFICIENT_DATA (consumption, prices) is about.
ALTER TABLE {{db}}.invoice_checks
    ADD COLUMN IF NOT EXISTS amount Nullable(Float64),
    ADD COLUMN IF NOT EXISTS currency LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS price_area LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS expected_amount Nullable(Float64),
    ADD COLUMN IF NOT EXISTS price_coverage Float32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS reason LowCardinality(String) DEFAULT '';
