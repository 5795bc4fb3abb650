/**
 * The `spot_prices` sink: one row per price area, currency and hour. The table is a
 * ReplacingMergeTree by `version` (the record's Kafka timestamp in ms × 10^6 + its offset mod
 * 10^6), so a later record of an hour corrects its price and a redelivered one changes nothing.
 */
import { insertTsv, tsvEscape, tsvMillis, type InsertOptions, type SpotPrice } from '@meterstream/core';
import { insertOriginOf, type AlertOrigin } from '../alerts.js';

/** Columns of the `spot_prices` insert, in the order of {@link SpotPricesSink.write}. */
export const SPOT_PRICE_COLUMNS = ['price_area', 'currency', 'hour', 'price', 'version'] as const;

/** A price and the version of the record that brought it. */
export interface VersionedPrice extends SpotPrice {
  version: bigint;
}

/** The version of a record: its Kafka timestamp (ms), then its offset. */
export function priceVersion(timestampMs: number, offset: bigint): bigint {
  return BigInt(Math.max(0, Math.trunc(timestampMs))) * 1_000_000n + (offset % 1_000_000n);
}

export class SpotPricesSink {
  constructor(private readonly insert: InsertOptions) {}

  /** Writes the prices to `spot_prices`, for the input batch `origin` (its deduplication token). */
  async write(prices: readonly VersionedPrice[], origin?: AlertOrigin): Promise<void> {
    if (prices.length === 0) return;
    const body = prices
      .map((p) => `${tsvEscape(p.priceArea)}\t${p.currency}\t${tsvMillis(p.hour)}\t${p.price}\t${p.version}\n`)
      .join('');
    await insertTsv(this.insert, body, prices.length, origin && insertOriginOf(origin, 'spot_prices'));
  }
}
