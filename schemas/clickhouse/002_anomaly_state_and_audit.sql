-- The anomaly service's detector state, one row per write. The newest row of a key (by
-- version) holds the state after the input offset `offset` of `source`/`partition`, and the
-- state it started from (`prev_*`): a batch whose Kafka transaction aborted after this write
-- is delivered again from an offset <= `offset`, and then starts from `prev_state` (see
-- services/anomaly/src/state/state-store.ts).
CREATE TABLE IF NOT EXISTS {{db}}.anomaly_state
(
    source LowCardinality(String),
    partition UInt32,
    key String,
    tenant LowCardinality(String),
    meter String,
    offset Int64,
    state String,
    prev_offset Int64,
    prev_state String,
    version UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, partition, key)
TTL {{ttl:anomaly_state}};

-- One row per erasure request (GDPR art. 17): the pseudonym, when, and how many rows each
-- table lost. Never the raw meter ID. The column is `pseudonym`, not `meter`, so an erasure
-- (which deletes from every table with a `meter` column) keeps its own audit trail.
CREATE TABLE IF NOT EXISTS {{db}}.erasure_audit
(
    pseudonym String,
    erased_at DateTime64(3, 'UTC'),
    actor LowCardinality(String),
    deleted Map(String, UInt64)
)
ENGINE = MergeTree
ORDER BY (pseudonym, erased_at)
TTL {{ttl:erasure_audit}};

-- Which input batch wrote an alert row (input topic, partition, last offset of the batch): a
-- batch delivered again after an aborted transaction recognises its own earlier write and
-- publishes the alert again instead of taking it as published.
ALTER TABLE {{db}}.alerts
    ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS partition UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS source_offset Int64 DEFAULT -1;
