-- Issue 10, series semantics. Hourly rows state where their numbers came from (INTERVALS,
-- REGISTERS, MIXED, INSTANTS; '' for rows written before) and whether a register span reaching
-- into the hour disagrees with the intervals covering it (see docs/pipeline.md).
ALTER TABLE {{db}}.readings_hourly
    ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS register_mismatch Bool DEFAULT false;

-- A register's capacity (the value it wraps at, in the reading's unit) when the head-end states
-- it (MeterReading v3, MeterReadingBatch v2): a falling register is a rollover only then. NULL:
-- unknown, a fall is a reset. The ingestor's inbox view is to fill it (see the ingestor).
ALTER TABLE {{db}}.readings_raw
    ADD COLUMN IF NOT EXISTS register_modulus Nullable(Float64);
