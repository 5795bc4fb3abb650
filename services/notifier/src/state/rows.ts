/** Small helpers of the notifier's ClickHouse rows. */
import { insertDeduplicationToken, type ClickHouseClient } from '@meterstream/core';

/** Epoch ms as a DateTime64 text ClickHouse reads with `best_effort`. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** JSON output with numbers as numbers (UInt64/Int64 too: values here stay far below 2^53). */
export const READ_SETTINGS = { output_format_json_quote_64bit_integers: 0 } as const;

/**
 * Inserts JSON rows into `db.table`, with a deduplication token of the rows: the same rows sent
 * again (a retry after a lost answer) are stored once.
 */
export async function insertRows(
  clickhouse: ClickHouseClient,
  db: string,
  table: string,
  values: readonly object[],
): Promise<void> {
  if (values.length === 0) return;
  await clickhouse.insert({
    table: `${db}.${table}`,
    values: values as object[],
    format: 'JSONEachRow',
    clickhouse_settings: {
      date_time_input_format: 'best_effort',
      insert_deduplicate: 1,
      insert_deduplication_token: insertDeduplicationToken(JSON.stringify(values)),
    },
  });
}

/** Rows of a query. */
export async function selectRows<T>(
  clickhouse: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await clickhouse.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  return rs.json<T>();
}
