/** ClickHouse sink of `readings_raw`: idempotent by design (ReplacingMergeTree, see 001_initial.sql). */
import { insertTsv, type ClickHouseClient, type Logger, type PipelineMetrics } from '@meterstream/core';
import { RAW_COLUMNS, type PreparedBatch } from '../transforms/prepare-batch.js';

export class ReadingsRawSink {
  readonly #options: Parameters<typeof insertTsv>[0];

  constructor(client: ClickHouseClient, database: string, metrics: PipelineMetrics, logger: Logger, signal: AbortSignal) {
    this.#options = {
      client,
      table: `${database}.readings_raw`,
      columns: RAW_COLUMNS,
      label: 'readings_raw',
      metrics,
      signal,
      onRetry: (err, attempt, delayMs) => logger.warn({ err: (err as Error).message, attempt, delayMs }, 'readings_raw insert failed; retrying'),
    };
  }

  /** Writes the batch's rows; resolves once ClickHouse confirmed them. */
  async write(batch: PreparedBatch): Promise<void> {
    await insertTsv(this.#options, batch.rawTsv, batch.rawRows);
  }
}
