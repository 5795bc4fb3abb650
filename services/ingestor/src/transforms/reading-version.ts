/**
 * The version of a reading in `readings_raw` (a ReplacingMergeTree keyed by (tenant, meter,
 * kind, ts)): of two deliveries of one reading, the one with the higher version is the stored
 * value. It orders deliveries by the producer's intent, never by where or when meterstream
 * processed them:
 *
 *   version = quality rank * 2^48 + 2^47 + the raw record's Kafka timestamp (ms, clamped to 0..2^47-1)
 *
 * - Quality first: an ESTIMATED value never overrides a MEASURED one, a CORRECTED value wins.
 * - Then the raw record's Kafka timestamp: CreateTime, set by the head-end's producer when it
 *   sent the record, or LogAppendTime when the topic says so. Unlike an offset, it orders
 *   records across partitions (keyless or re-keyed producers, added partitions) and survives a
 *   re-created, replayed topic: a replay that keeps the timestamps gives the same versions (the
 *   table keeps one row), one that does not gives later ones, in the order it is replayed.
 * - No offset tiebreak. Two deliveries of one reading with equal quality and timestamp keep
 *   ClickHouse's rule for equal versions: the row inserted last wins, which for one raw
 *   partition is offset order (the ingestor inserts its batches in order, and a batch's rows in
 *   message order). A truncated offset in the low bits would break that order at every wrap
 *   and push the version past 2^53.
 * - Below 2^50, so it is exact as a JS number and as an Avro long (CleanReadingBatch v2).
 * - Compatible with the old encoding (rank * 2^48 + source offset, before migration 003):
 *   offsets stay below 2^47, so an old row of rank r sorts below every new delivery of rank r
 *   and above every new delivery of a lower rank. No stored row needs rewriting.
 */
import type { Quality } from '@meterstream/core';

/** Quality ranks: a better quality replaces a worse one. */
export const QUALITY_RANK: Readonly<Record<Quality, number>> = { ESTIMATED: 0, MEASURED: 1, CORRECTED: 2 };

const RANK_UNIT = 2 ** 48;
const NEW_ENCODING = 2 ** 47;
const MAX_TIMESTAMP = 2 ** 47 - 1;

/** The version of a reading of `quality` delivered in a raw record with Kafka timestamp `timestampMs`. */
export function readingVersion(quality: Quality, timestampMs: number): number {
  const t = Number.isFinite(timestampMs) ? Math.min(MAX_TIMESTAMP, Math.max(0, Math.trunc(timestampMs))) : 0;
  return QUALITY_RANK[quality] * RANK_UNIT + NEW_ENCODING + t;
}

/** The Kafka timestamp a version was made from (for tests and operators' queries). */
export function versionTimestamp(version: number): number {
  return (version % RANK_UNIT) - NEW_ENCODING;
}
