/**
 * A zone's hourly WATER rows summed per role in ClickHouse (`readings_hourly FINAL`), the
 * rules of `transforms/zone-balance.ts`: the inflow meters by pseudonym (configuration), the
 * customers by the rows' `zone_id`, inflow meters excepted. One tenant, one zone, a bounded
 * range: the answer has one row per hour, however many meters the zone has.
 */
import type { ClickHouseClient } from '@meterstream/core';
import { FULL_COVERAGE, type ZoneHourAggregate } from '../transforms/zone-balance.js';

/** How far before the range a meter that reported counts as one of the zone's customers. */
export const CUSTOMER_LOOKBACK_MS = 7 * 86_400_000;

const Q = { output_format_json_quote_64bit_integers: 0 } as const;

export class ZoneBalanceSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /**
   * The zone's hours of [from, to), and how many customer meters it has: those with a WATER row
   * in the zone from {@link CUSTOMER_LOOKBACK_MS} before `from` to `to`.
   */
  async hours(q: {
    tenant: string;
    zone: string;
    inflows: readonly string[];
    from: number;
    to: number;
  }): Promise<{ aggregates: ZoneHourAggregate[]; customers: number }> {
    const params = {
      tenant: q.tenant,
      zone: q.zone,
      inflows: [...q.inflows],
      from: Math.floor(q.from / 1000),
      to: Math.ceil(q.to / 1000),
      lookback: Math.max(0, Math.floor((q.from - CUSTOMER_LOOKBACK_MS) / 1000)),
      full: FULL_COVERAGE,
    };
    const rs = await this.client.query({
      query: `SELECT toUnixTimestamp(hour) * 1000 AS h,
                     sumIf(value_sum, inflow) AS inflow_l, countIf(inflow AND coverage >= {full:Float64}) AS inflow_full,
                     sumIf(value_sum, NOT inflow) AS customers_l, countIf(NOT inflow AND coverage >= {full:Float64}) AS customers_full
              FROM (SELECT hour, value_sum, coverage, meter IN {inflows:Array(String)} AS inflow
                    FROM ${this.database}.readings_hourly FINAL
                    WHERE tenant = {tenant:String} AND kind = 'WATER'
                      AND hour >= toDateTime({from:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')
                      AND (meter IN {inflows:Array(String)} OR zone_id = {zone:String}))
              GROUP BY h ORDER BY h`,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: Q,
    });
    const aggregates = (
      await rs.json<{ h: number; inflow_l: number; inflow_full: number; customers_l: number; customers_full: number }>()
    ).map((r) => ({
      hour: Number(r.h),
      inflowL: Number(r.inflow_l),
      inflowFull: Number(r.inflow_full),
      customersL: Number(r.customers_l),
      customersFull: Number(r.customers_full),
    }));
    const counted = await this.client.query({
      query: `SELECT uniqExact(meter) AS n FROM ${this.database}.readings_hourly
              WHERE tenant = {tenant:String} AND kind = 'WATER' AND zone_id = {zone:String}
                AND meter NOT IN {inflows:Array(String)}
                AND hour >= toDateTime({lookback:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')`,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: Q,
    });
    const [{ n }] = await counted.json<{ n: number }>();
    return { aggregates, customers: Number(n) };
  }
}
