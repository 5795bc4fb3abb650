/** Whether a spot price can be stored; one that cannot goes to the DLQ with the reason. */
import { isStorableTime, type SpotPrice } from '@meterstream/core';

const H = 3_600_000;
/** Highest |price| per kWh taken as real (the day-ahead market's harmonised caps are a few EUR/kWh). */
const MAX_ABS_PRICE = 1000;

/** Why a price cannot be used, or null. */
export function priceProblem(p: SpotPrice): string | null {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(p.priceArea))
    return 'priceArea must be 1 to 32 letters, digits, dash or underscore';
  if (!isStorableTime(p.hour)) return 'hour must be whole milliseconds from 2000 to 2099';
  if (p.hour % H !== 0) return 'hour must be the start of an hour (UTC, epoch ms)';
  if (!Number.isFinite(p.price) || Math.abs(p.price) > MAX_ABS_PRICE)
    return `price must be a finite number of at most ${MAX_ABS_PRICE} per kWh`;
  if (!/^[A-Z]{3}$/.test(p.currency)) return 'currency must be an ISO 4217 code (three capital letters)';
  return null;
}
