/**
 * The district water balance per hour (IWA: system input volume minus billed metered
 * consumption): what the zone's inflow meters measured going in, minus the sum of its customer
 * meters (the zone's other WATER meters), in litres (WATER's canonical unit). A customer meter
 * whose hour is not fully covered by readings adds too little, so the balance of such an hour
 * overstates the loss: each hour carries the share of customer meters (and of inflow meters)
 * whose hour is fully covered, and whoever judges the balance (ZONE_LOSS, a person reading the
 * API) decides how much coverage is enough. Pure: rows in, hours out; `zone-balance.source.ts`
 * computes {@link ZoneHourAggregate} in ClickHouse with the same rules.
 */

const H = 3_600_000;

/** An hour counts as fully covered from this coverage on (Float32 sums of quarter hours). */
export const FULL_COVERAGE = 0.999;

/** One meter's hourly WATER row. */
export interface ZoneMeterHour {
  meter: string;
  hour: number;
  litres: number;
  /** Share of the hour the meter's readings cover. */
  coverage: number;
}

/** One hour of a zone, summed per role. */
export interface ZoneHourAggregate {
  hour: number;
  inflowL: number;
  /** Inflow meters whose hour is fully covered. */
  inflowFull: number;
  customersL: number;
  /** Customer meters whose hour is fully covered. */
  customersFull: number;
}

/** One hour of a zone's balance. */
export interface ZoneBalanceHour {
  hour: number;
  inflowL: number;
  customersL: number;
  /** inflow − customers (L in the hour, so L/h). */
  balanceL: number;
  /** Share of the zone's inflow meters whose hour is fully covered (0..1). */
  inflowCoverage: number;
  /** Share of the zone's customer meters whose hour is fully covered (0..1; 0 without customers). */
  customerCoverage: number;
}

/** The per-hour sums of a zone's rows: inflow meters by pseudonym, every other row a customer's. */
export function aggregateZoneHours(rows: readonly ZoneMeterHour[], inflows: ReadonlySet<string>): ZoneHourAggregate[] {
  const byHour = new Map<number, ZoneHourAggregate>();
  for (const r of rows) {
    let a = byHour.get(r.hour);
    if (a === undefined)
      byHour.set(r.hour, (a = { hour: r.hour, inflowL: 0, inflowFull: 0, customersL: 0, customersFull: 0 }));
    const full = r.coverage >= FULL_COVERAGE ? 1 : 0;
    if (inflows.has(r.meter)) {
      a.inflowL += r.litres;
      a.inflowFull += full;
    } else {
      a.customersL += r.litres;
      a.customersFull += full;
    }
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour);
}

/**
 * Every hour of [from, to) (whole UTC hours), an hour without rows included (coverage 0): a
 * hole in the data is shown as one, never as a zero loss.
 */
export function zoneBalance(
  aggregates: readonly ZoneHourAggregate[],
  meters: { inflow: number; customers: number },
  from: number,
  to: number,
): ZoneBalanceHour[] {
  const byHour = new Map(aggregates.map((a) => [a.hour, a]));
  const share = (n: number, of: number) => (of > 0 ? Math.min(1, n / of) : 0);
  const out: ZoneBalanceHour[] = [];
  for (let hour = Math.ceil(from / H) * H; hour < to; hour += H) {
    const a = byHour.get(hour);
    const inflowL = a?.inflowL ?? 0;
    const customersL = a?.customersL ?? 0;
    out.push({
      hour,
      inflowL,
      customersL,
      balanceL: inflowL - customersL,
      inflowCoverage: share(a?.inflowFull ?? 0, meters.inflow),
      customerCoverage: share(a?.customersFull ?? 0, meters.customers),
    });
  }
  return out;
}
