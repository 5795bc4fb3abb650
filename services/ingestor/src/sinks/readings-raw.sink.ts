/**
 * ClickHouse sink of `readings_raw`. Each clean batch becomes one row of `readings_raw_inbox_v2`
 * (header once, readings as arrays), which a materialized view spreads into `readings_raw`
 * (schemas/clickhouse/003_reading_versions.sql). Idempotent by design: ReplacingMergeTree keyed
 * by reading, versioned by quality rank and the raw record's Kafka timestamp (`reading-version.ts`).
 *
 * Network errors and overload are retried; when ClickHouse refuses the rows' content, the
 * batches are bisected down to the ones it refuses, whose messages the caller dead-letters, so
 * one bad message never blocks a partition nor drags good ones along.
 */
import {
  insertTsv,
  isBadDataError,
  sinkInsertOptions,
  tsvEscape,
  tsvNullable,
  type ClickHouseClient,
  type InsertOptions,
  type CleanReadingBatch,
  type Logger,
  type PipelineMetrics,
} from '@meterstream/core';
import { QUALITY_RANK } from '../transforms/reading-version.js';

const INBOX_COLUMNS = [
  'tenant',
  'meter',
  'kind',
  'unit',
  'reading_type',
  'interval_seconds',
  'zone_id',
  'price_area',
  'source_partition',
  'ts_ms',
  'values',
  'quality_ranks',
  'source_offsets',
  'versions',
  'register_modulus',
] as const;

/** One inbox row (TabSeparated) for a clean batch. */
export function inboxLine(b: CleanReadingBatch, partition: number): string {
  const n = b.readings.length;
  const ts = new Array<number>(n);
  const values = new Array<number>(n);
  const ranks = new Array<number>(n);
  const offsets = new Array<number>(n);
  const versions = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const r = b.readings[i];
    ts[i] = r.ts;
    values[i] = r.value;
    ranks[i] = QUALITY_RANK[r.quality];
    offsets[i] = r.offset;
    versions[i] = r.version;
  }
  return `${tsvEscape(b.tenant)}\t${b.meter}\t${b.kind}\t${b.unit}\t${b.readingType}\t${b.intervalSeconds}\t${tsvNullable(b.zoneId)}\t${tsvNullable(b.priceArea)}\t${partition}\t[${ts.join(',')}]\t[${values.join(',')}]\t[${ranks.join(',')}]\t[${offsets.join(',')}]\t[${versions.join(',')}]\t${b.registerModulus ?? '\\N'}\n`;
}

/** A clean batch whose rows ClickHouse refused, with its error. */
export interface RefusedBatch {
  batch: CleanReadingBatch;
  error: string;
}

export class ReadingsRawSink {
  readonly #options: InsertOptions;

  constructor(
    client: ClickHouseClient,
    database: string,
    metrics: PipelineMetrics,
    logger: Logger,
    signal: AbortSignal,
  ) {
    this.#options = sinkInsertOptions(client, database, 'readings_raw_inbox_v2', INBOX_COLUMNS, {
      metrics,
      logger,
      signal,
      label: 'readings_raw',
    });
  }

  /**
   * Writes the batches' readings; resolves once ClickHouse confirmed them, with the batches it
   * refused as bad data (usually none). Other failures throw.
   */
  async write(batches: readonly CleanReadingBatch[], partition: number, topic = 'readings'): Promise<RefusedBatch[]> {
    return this.#write(
      batches.map((b) => inboxLine(b, partition)),
      batches,
      { topic, partition },
      '0',
    );
  }

  async #write(
    lines: string[],
    batches: readonly CleanReadingBatch[],
    input: { topic: string; partition: number },
    part: string,
  ): Promise<RefusedBatch[]> {
    if (batches.length === 0) return [];
    let firstOffset = Infinity;
    let lastOffset = -Infinity;
    for (const b of batches)
      for (const r of b.readings)
        ((firstOffset = Math.min(firstOffset, r.offset)), (lastOffset = Math.max(lastOffset, r.offset)));
    try {
      await insertTsv(
        this.#options,
        lines.join(''),
        batches.reduce((n, b) => n + b.readings.length, 0),
        { ...input, firstOffset, lastOffset, part },
      );
      return [];
    } catch (err) {
      if (!isBadDataError(err)) throw err;
      if (batches.length === 1) return [{ batch: batches[0], error: (err as Error).message }];
      const mid = batches.length >> 1;
      return [
        ...(await this.#write(lines.slice(0, mid), batches.slice(0, mid), input, `${part}.0`)),
        ...(await this.#write(lines.slice(mid), batches.slice(mid), input, `${part}.1`)),
      ];
    }
  }
}
