/** ClickHouse sink of `readings_hourly` (ReplacingMergeTree by version: the latest recompute wins). */
import { insertTsv, tsvEscape, tsvMillis, tsvNullable, type ClickHouseClient, type Logger, type PipelineMetrics } from '@meterstream/core';
import type { HourlyRow } from '../aggregator.js';

const COLUMNS = ['tenant', 'meter', 'kind', 'unit', 'hour', 'value_sum', 'value_min', 'value_max', 'samples', 'first_ts', 'last_ts', 'coverage', 'zone_id', 'version'] as const;

export class ReadingsHourlySink {
  readonly #options: Parameters<typeof insertTsv>[0];

  constructor(client: ClickHouseClient, database: string, metrics: PipelineMetrics, logger: Logger, signal: AbortSignal) {
    this.#options = {
      client,
      table: `${database}.readings_hourly`,
      columns: COLUMNS,
      label: 'readings_hourly',
      metrics,
      signal,
      onRetry: (err, attempt, delayMs) => logger.warn({ err: (err as Error).message, attempt, delayMs }, 'readings_hourly insert failed; retrying'),
    };
  }

  async write(rows: readonly HourlyRow[]): Promise<void> {
    const body = rows
      .map((r) => `${tsvEscape(r.tenant)}\t${r.meter}\t${r.kind}\t${r.unit}\t${r.hour / 1000}\t${r.valueSum}\t${r.valueMin}\t${r.valueMax}\t${r.samples}\t${tsvMillis(r.firstTs)}\t${tsvMillis(r.lastTs)}\t${r.coverage}\t${tsvNullable(r.zoneId)}\t${r.version}\n`)
      .join('');
    await insertTsv(this.#options, body, rows.length);
  }
}
