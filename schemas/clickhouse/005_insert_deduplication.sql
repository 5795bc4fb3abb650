-- Retries dedupe on a single node too (issue 14): every insert carries an
-- `insert_deduplication_token` derived from its input batch and rows
-- (packages/core/src/clickhouse/insert.ts), and a MergeTree table without replication honours it
-- only with a deduplication window. A retry whose first attempt was stored before its answer was
-- lost then stores nothing twice. Replicated tables (CLICKHOUSE_CLUSTER) deduplicate by default;
-- there the setting is inert. readings_raw is reached through the inbox's views: the token
-- reaches it with `deduplicate_blocks_in_dependent_materialized_views`, which the inserts set.
ALTER TABLE {{db}}.readings_raw MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {{db}}.readings_hourly MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {{db}}.alerts MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {{db}}.invoice_checks MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {{db}}.anomaly_state MODIFY SETTING non_replicated_deduplication_window = 1000;
