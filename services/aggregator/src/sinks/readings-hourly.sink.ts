/** ClickHouse sink of `readings_hourly` (ReplacingMergeTree by version: the latest recompute wins). */
import {
  insertTsv,
  sinkInsertOptions,
  tsvEscape,
  tsvMillis,
  tsvNullable,
  type ClickHouseClient,
  type InsertOptions,
  type InsertOrigin,
  type Logger,
  type PipelineMetrics,
} from '@meterstream/core';
import type { HourlyRow } from '../aggregator.js';

const COLUMNS = [
  'tenant',
  'meter',
  'kind',
  'unit',
  'hour',
  'value_sum',
  'value_min',
  'value_max',
  'samples',
  'first_ts',
  'last_ts',
  'coverage',
  'zone_id',
  'version',
  'source',
  'register_mismatch',
] as const;

export class ReadingsHourlySink {
  readonly #options: InsertOptions;

  constructor(
    client: ClickHouseClient,
    database: string,
    metrics: PipelineMetrics,
    logger: Logger,
    signal: AbortSignal,
  ) {
    this.#options = sinkInsertOptions(client, database, 'readings_hourly', COLUMNS, { metrics, logger, signal });
  }

  /** Writes the rows; `origin`, the input batch, names the insert for deduplication of retries. */
  async write(rows: readonly HourlyRow[], origin?: InsertOrigin): Promise<void> {
    const body = rows
      .map(
        (r) =>
          `${tsvEscape(r.tenant)}\t${r.meter}\t${r.kind}\t${r.unit}\t${r.hour / 1000}\t${r.valueSum}\t${r.valueMin}\t${r.valueMax}\t${r.samples}\t${tsvMillis(r.firstTs)}\t${tsvMillis(r.lastTs)}\t${r.coverage}\t${tsvNullable(r.zoneId)}\t${r.version}\t${r.source}\t${r.registerMismatch}\n`,
      )
      .join('');
    await insertTsv(this.#options, body, rows.length, origin);
  }
}
