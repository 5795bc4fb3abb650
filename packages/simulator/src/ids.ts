/**
 * Meter IDs that look like the real ones: 18-digit GSRN metering point IDs for electricity
 * (Norwegian ones start `707057500`, with a GS1 mod-10 check digit), and a wireless M-Bus
 * manufacturer code plus an 8-digit serial for water meters and temperature sensors.
 */
import type { Draw } from './random.js';
import type { MeterRole } from './types.js';

/** GS1 check digit of a digit string: weights 3 and 1 alternating from the rightmost digit. */
export function gs1CheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
}

const digits = (d: Draw, n: number) => Array.from({ length: n }, () => d.int(0, 9)).join('');

/** Water meter manufacturers (M-Bus codes) and their rough market shares. */
const WATER_MAKERS = ['KAM', 'DME', 'SEN', 'ITR'];
const WATER_SHARES = [0.45, 0.25, 0.15, 0.15];
/** Temperature sensor manufacturers. */
const SENSOR_MAKERS = ['ELV', 'KAM'];

/** A new meter ID for `role`, not in `taken` (which it joins). */
export function meterId(role: MeterRole, d: Draw, taken: Set<string>): string {
  for (;;) {
    let id: string;
    if (role === 'electricity') {
      const body = `707057500${digits(d, 8)}`;
      id = `${body}${gs1CheckDigit(body)}`;
    } else if (role === 'technical-room') {
      id = `${d.pick(SENSOR_MAKERS)}${digits(d, 8)}`;
    } else {
      id = `${d.weighted(WATER_MAKERS, WATER_SHARES)}${digits(d, 8)}`;
    }
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}
