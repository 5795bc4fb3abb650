/**
 * Day-ahead spot prices per price area and hour, with the daily shape Nordic prices have: low
 * at night, a morning peak around 08-09 and a higher evening peak around 18-19 local, a level
 * per area (NO1, NO2 and NO5 in the south dear, NO3 and NO4 in the north cheap; SE3 and SE4
 * dearer than SE1 and SE2) and a day-to-day factor (weather, wind). Deterministic from the
 * fleet's seed. Each day's 24 prices are published at 13:00 local the day before, as the
 * day-ahead auction's results are.
 */
import type { SpotPrice } from '@meterstream/core';
import { Calendar, HOUR } from './calendar.js';
import { currencyOf, MARKETS } from './fleet.js';
import { hash32 } from './random.js';
import type { FleetPlan, PriceDelivery } from './types.js';

/** Mean price per kWh of each area, in its market's currency. */
const LEVEL: Record<string, number> = {
  NO1: 0.95,
  NO2: 0.9,
  NO3: 0.45,
  NO4: 0.3,
  NO5: 0.85,
  SE1: 0.35,
  SE2: 0.4,
  SE3: 0.9,
  SE4: 1.2,
};

/** Relative price by local hour: night trough, morning and (higher) evening peaks. */
const SHAPE = [
  0.72, 0.68, 0.66, 0.65, 0.67, 0.76, 0.95, 1.15, 1.28, 1.22, 1.08, 1.0, 0.96, 0.93, 0.94, 1.0, 1.12, 1.3, 1.38, 1.3,
  1.12, 0.98, 0.88, 0.78,
];

const unit = (h: number) => h / 4294967296;

/** The spot price per kWh of an area for the hour starting at `hour` (UTC ms), rounded to 0.00001. */
export function spotPrice(seed: number, calendar: Calendar, priceArea: string, hour: number): number {
  const areaKey = [...priceArea].reduce((a, c) => a * 31 + c.charCodeAt(0), 7);
  const day = calendar.day(hour);
  const dayFactor = 0.7 + 0.6 * unit(hash32(hash32(seed, areaKey), day));
  const noise = 0.95 + 0.1 * unit(hash32(hash32(seed ^ 0x5f3759df, areaKey), hour / HOUR));
  const p = (LEVEL[priceArea] ?? 0.8) * dayFactor * SHAPE[calendar.hour(hour)] * noise;
  return Math.round(p * 1e5) / 1e5;
}

/** The spot prices of every area of the fleet's market for every hour of its full local days, each day published at 13:00 local the day before. */
export function* priceDeliveries(plan: FleetPlan): Generator<PriceDelivery> {
  const calendar = new Calendar(plan.options.timeZone);
  const market = MARKETS[plan.options.timeZone];
  if (market === undefined) return;
  for (const day of calendar.fullDays(plan.start, plan.options.end)) {
    const at = Math.max(plan.start, calendar.at(day - 1, 13 * HOUR));
    for (const priceArea of market.areas) {
      const currency = currencyOf(priceArea)!;
      for (let hour = calendar.at(day); hour < calendar.at(day + 1); hour += HOUR) {
        const value: SpotPrice = {
          priceArea,
          hour,
          price: spotPrice(plan.options.seed, calendar, priceArea, hour),
          currency,
        };
        yield { at, topic: 'prices', key: priceArea, schema: 'SpotPrice', value };
      }
    }
  }
}
