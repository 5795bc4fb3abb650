-- Erased pseudonyms that every stage refuses (issue 12): an erasure writes `blocked = 1` before
-- it deletes, so the stages of every process stop writing the meter (they re-read this table,
-- and `erasure_audit`, every METERSTREAM_ERASED_REFRESH_SECONDS); an admin's un-block writes
-- `blocked = 0` (re-registration of the meter for a new customer). The newest row of a
-- pseudonym decides. Append-only, so the table is also the audit of blocks and un-blocks. The
-- column is `pseudonym`, not `meter`, so an erasure keeps it.
CREATE TABLE IF NOT EXISTS {{db}}.meter_blocks
(
    pseudonym String,
    tenant LowCardinality(String),
    blocked UInt8,
    at DateTime64(3, 'UTC'),
    actor LowCardinality(String),
    reason LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (pseudonym, at)
TTL {{ttl:meter_blocks}};
