/**
 * Stored spot prices (`spot_prices FINAL`) and a meter's metered hours, for the price-weighted
 * invoice check: what one invoice's period cost, hour by hour.
 */
import type { ClickHouseClient, MeterKind } from '@meterstream/core';

const Q = { output_format_json_quote_64bit_integers: 0 } as const;

export class SpotPricesSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /** Price per kWh by hour start (UTC ms) of an area and currency in [from, to). */
  async prices(priceArea: string, currency: string, from: number, to: number): Promise<Map<number, number>> {
    const rs = await this.client.query({
      query: `SELECT toUnixTimestamp(hour) * 1000 AS h, price FROM ${this.database}.spot_prices FINAL
              WHERE price_area = {area:String} AND currency = {currency:String}
                AND hour >= toDateTime({from:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')`,
      query_params: { area: priceArea, currency, from: Math.floor(from / 1000), to: Math.ceil(to / 1000) },
      format: 'JSONEachRow',
      clickhouse_settings: Q,
    });
    return new Map((await rs.json<{ h: number; price: number }>()).map((r) => [Number(r.h), Number(r.price)]));
  }

  /** A meter's hourly sums (in the rows' unit) of [from, to), by hour start (UTC ms). */
  async hours(
    m: { tenant: string; meter: string; kind: MeterKind },
    from: number,
    to: number,
  ): Promise<{ unit: string | null; hours: { hour: number; sum: number }[] }> {
    const rs = await this.client.query({
      query: `SELECT toUnixTimestamp(hour) * 1000 AS h, value_sum AS s, unit AS u FROM ${this.database}.readings_hourly FINAL
              WHERE tenant = {tenant:String} AND meter = {meter:String} AND kind = {kind:String}
                AND hour >= toDateTime({from:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')
              ORDER BY hour`,
      query_params: { ...m, from: Math.floor(from / 1000), to: Math.ceil(to / 1000) },
      format: 'JSONEachRow',
      clickhouse_settings: Q,
    });
    const rows = await rs.json<{ h: number; s: number; u: string }>();
    return { unit: rows[0]?.u ?? null, hours: rows.map((r) => ({ hour: Number(r.h), sum: Number(r.s) })) };
  }
}
