-- Who exported which meter's data, and when (issue 12): a disclosure is accountable like an
-- erasure. `actor` is the token's name (METERSTREAM_TOKENS), never the token. The column is
-- `pseudonym`, not `meter`, so an erasure keeps this trail too.
CREATE TABLE IF NOT EXISTS {{db}}.export_audit
(
    pseudonym String,
    tenant LowCardinality(String),
    exported_at DateTime64(3, 'UTC'),
    actor LowCardinality(String),
    format LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (pseudonym, exported_at)
TTL {{ttl:export_audit}};

-- The tenant of an erased meter, so a tenant's admin can repeat (or look up) its own erasures.
ALTER TABLE {{db}}.erasure_audit
    ADD COLUMN IF NOT EXISTS tenant LowCardinality(String) DEFAULT '';
