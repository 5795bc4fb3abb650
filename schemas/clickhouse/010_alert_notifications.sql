-- The notifier (services/notifier, issue 13): what it delivered, what silences hold, who
-- acknowledged what. Every table with alert data has a `meter` column, so an erasure reaches it.

-- Delivery state: one row per (sink, alert state change) the notifier finished with, delivered
-- or dead-lettered. Read before each send, so a batch delivered again after a restart sends
-- nothing twice (see services/notifier/src/state/deliveries.store.ts).
CREATE TABLE IF NOT EXISTS {{db}}.alert_deliveries
(
    sink LowCardinality(String),
    alert_id String,
    status LowCardinality(String),
    dedup_key String,
    tenant LowCardinality(String),
    meter String,
    outcome LowCardinality(String),
    reason String,
    attempts UInt32,
    starts_at DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(finished_at)
ORDER BY (sink, alert_id, status)
TTL {{ttl:alert_deliveries}};

-- Notifications held by a silence: the alert state change (its Avro record as JSON), in topic
-- order per episode; `state` is held, then released or dropped when the silences end.
CREATE TABLE IF NOT EXISTS {{db}}.alert_holds
(
    alert_id String,
    status LowCardinality(String),
    dedup_key String,
    tenant LowCardinality(String),
    meter String,
    alert String,
    silence_id String,
    source_partition UInt32,
    source_offset Int64,
    state LowCardinality(String),
    held_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, meter, dedup_key, alert_id, status)
TTL {{ttl:alert_holds}};

-- Maintenance windows: Alertmanager-like matchers (JSON) on tenant, zone, meter, type and
-- severity, active in [starts_at, ends_at). Expiring one writes a newer version ending now.
CREATE TABLE IF NOT EXISTS {{db}}.alert_silences
(
    silence_id String,
    matchers String,
    starts_at DateTime64(3, 'UTC'),
    ends_at DateTime64(3, 'UTC'),
    created_by String,
    comment String,
    created_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY silence_id
TTL {{ttl:alert_silences}};

-- Who created or expired which silence, when, and what it was.
CREATE TABLE IF NOT EXISTS {{db}}.alert_silence_audit
(
    silence_id String,
    at DateTime64(3, 'UTC'),
    actor String,
    action LowCardinality(String),
    what String
)
ENGINE = MergeTree
ORDER BY (silence_id, at)
TTL {{ttl:alert_silence_audit}};

-- Acknowledgements of alert episodes: who, when, a note; the newest per episode counts.
CREATE TABLE IF NOT EXISTS {{db}}.alert_acks
(
    dedup_key String,
    alert_id String,
    tenant LowCardinality(String),
    meter String,
    acked_by String,
    note String,
    acked_at DateTime64(3, 'UTC'),
    starts_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(acked_at)
ORDER BY (tenant, meter, dedup_key)
TTL {{ttl:alert_acks}};
