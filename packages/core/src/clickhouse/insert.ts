/**
 * Inserts that survive a flaky ClickHouse: network errors, timeouts and overload are retried
 * with capped exponential backoff until the caller stops; a "bad data" error is not retried
 * (Vector's ClickHouse sink does the same) — it is raised non-retriable for the caller to
 * route. Rows go as TabSeparated text, which ClickHouse parses faster than JSON.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { MeterError } from '../errors.js';
import { sleep } from '../lifecycle.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';

// ClickHouse error codes worth another try: overload, timeouts, network, read-only replica.
const RETRIABLE_CODES = new Set([
  '3',
  '159',
  '160',
  '164',
  '202',
  '203',
  '209',
  '210',
  '241',
  '242',
  '252',
  '285',
  '319',
  '425',
  '999',
]);

// ClickHouse error codes that blame the rows themselves (parse errors, values out of range,
// type mismatches): retrying the same rows cannot help, so callers isolate and dead-letter them.
const BAD_DATA_CODES = new Set([
  '6',
  '26',
  '27',
  '32',
  '38',
  '41',
  '53',
  '69',
  '70',
  '72',
  '117',
  '130',
  '131',
  '190',
  '321',
  '344',
  '641',
]);

/** True when ClickHouse refused the rows' content (not the table, the network or the load). */
export function isBadDataError(err: unknown): boolean {
  const e = (err instanceof MeterError && err.cause !== undefined ? err.cause : err) as { code?: unknown };
  return typeof e?.code === 'string' && BAD_DATA_CODES.has(e.code);
}

/** True when the same insert may succeed later. */
export function isRetriableClickHouseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return RETRIABLE_CODES.has(e.code);
  if (typeof e?.code === 'string' && /^E[A-Z]+/.test(e.code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT...
  const msg = typeof e?.message === 'string' ? e.message : '';
  return /timeout|socket hang up|ECONN|network/i.test(msg);
}

/** Escapes a string for TabSeparated input. */
export function tsvEscape(s: string): string {
  return /[\\\t\n\r\0']/.test(s) ? s.replace(/[\\\t\n\r\0']/g, (c) => TSV_ESCAPES[c]) : s;
}
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  "'": "\\'",
};

/** A nullable string for TabSeparated input (`\N` is NULL). */
export function tsvNullable(s: string | null): string {
  return s === null ? '\\N' : tsvEscape(s);
}

/**
 * The times the tables store, as epoch ms [from, until): meter data starts in 2000 (earlier is a
 * device's reset clock), and the TTLs' `toDateTime` ends in 2106. ClickHouse refuses a
 * DateTime64 of eleven digits, so a time outside this range is refused before it reaches an
 * insert (the record goes to the DLQ) instead of failing its batch forever.
 */
export const STORABLE_TIME = { from: Date.UTC(2000, 0, 1), until: Date.UTC(2100, 0, 1) } as const;

/** Whether `ms` is a whole number of milliseconds within {@link STORABLE_TIME}. */
export function isStorableTime(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= STORABLE_TIME.from && ms < STORABLE_TIME.until;
}

/** Epoch milliseconds as DateTime64(3) text: seconds with three decimals. */
export function tsvMillis(ms: number): string {
  const s = Math.floor(ms / 1000);
  const frac = ms - s * 1000;
  return frac === 0 ? `${s}` : `${s}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** Options of {@link insertTsv}. */
export interface InsertOptions {
  client: ClickHouseClient;
  /** `db.table`. */
  table: string;
  /** Column list, in the order of the TSV fields. */
  columns: readonly string[];
  /** Metric label of the table. */
  label: string;
  metrics?: PipelineMetrics;
  /** Aborting stops the retries (shutdown); the last error is thrown. */
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** The input batch an insert writes the output of: its deduplication token names it. */
export interface InsertOrigin {
  /** Input topic (or the consumer's name for it). */
  topic: string;
  partition: number;
  /** First and last offset of the input batch. */
  firstOffset: bigint | number | string;
  lastOffset: bigint | number | string;
  /** Which part of the batch's output this insert is (a bisected half, one of several tables). */
  part?: string;
}

/**
 * The `insert_deduplication_token` of an insert: the input batch (topic, partition, first and
 * last offsets, part) and a hash of the body. A retry after a lost answer sends the same token
 * and ClickHouse drops it as a duplicate (Replicated tables, and MergeTree tables with
 * `non_replicated_deduplication_window`). The hash makes sure that only the very same rows are
 * dropped: a redelivered batch whose output differs (a recompute that saw newer readings) is a
 * new insert, never mistaken for the old one. Without an origin, the body alone names the insert.
 */
export function insertDeduplicationToken(body: string, origin?: InsertOrigin): string {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 32);
  if (origin === undefined) return `body:${hash}`;
  const { topic, partition, firstOffset, lastOffset, part = '0' } = origin;
  return `${topic}:${partition}:${firstOffset}-${lastOffset}:${part}:${hash}`;
}

/**
 * Inserts TabSeparated lines (each ending in `\n`), retrying retriable failures. Every attempt
 * carries the same {@link insertDeduplicationToken}, so a retry of an insert that ClickHouse had
 * stored before its answer was lost stores nothing twice.
 */
export async function insertTsv(
  options: InsertOptions,
  body: string,
  rows: number,
  origin?: InsertOrigin,
): Promise<void> {
  if (rows === 0) return;
  const { client, table, columns, label, metrics, signal } = options;
  const clickhouse_settings = {
    insert_deduplicate: 1,
    insert_deduplication_token: insertDeduplicationToken(body, origin),
    // The inbox is a Null table: the token must reach the view's target (readings_raw).
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // On a cluster (Distributed tables) the insert returns once every shard stored its rows, so
    // offsets are committed after the data is on the shards, not in a node's send queue.
    distributed_foreground_insert: 1,
  } as const;
  for (let attempt = 1; ; attempt++) {
    const end = metrics?.insertDuration.startTimer({ table: label });
    try {
      await client.insert({
        table,
        columns: columns as [string, ...string[]],
        format: 'TabSeparated',
        clickhouse_settings,
        // A string stream: the embedded engine takes the text as is (no Buffer round trip);
        // over HTTP it is written as UTF-8.
        values: Readable.from([body], { objectMode: false, encoding: 'utf8' }),
      });
      end?.();
      metrics?.rowsInserted.inc({ table: label }, rows);
      return;
    } catch (err) {
      const retriable = isRetriableClickHouseError(err);
      metrics?.insertErrors.inc({ table: label, retriable: String(retriable) });
      if (!retriable || signal?.aborted) {
        throw new MeterError('METER_ERR_CLICKHOUSE', `insert into ${table} failed: ${(err as Error).message}`, {
          retriable,
          cause: err,
        });
      }
      const delay = Math.min(30_000, 200 * 2 ** Math.min(attempt - 1, 8));
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

/** Insert options for a service's sink: retries logged as warnings, stopped by `signal`. */
export function sinkInsertOptions(
  client: ClickHouseClient,
  database: string,
  table: string,
  columns: readonly string[],
  deps: {
    metrics: PipelineMetrics;
    logger: { warn: (obj: object, msg: string) => void };
    signal: AbortSignal;
    label?: string;
  },
): InsertOptions {
  const label = deps.label ?? table;
  return {
    client,
    table: `${database}.${table}`,
    columns,
    label,
    metrics: deps.metrics,
    signal: deps.signal,
    onRetry: (err, attempt, delayMs) =>
      deps.logger.warn({ err: (err as Error).message, attempt, delayMs }, `${label} insert failed; retrying`),
  };
}
