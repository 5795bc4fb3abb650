/** Checks `FleetOptions` and applies the defaults; bad input is a RangeError naming the field. */
import { DETECTOR_DEFAULTS } from '@meterstream/core';
import { HOUR } from './calendar.js';
import type { AnomalyRates, FleetOptions, ResolvedFleetOptions, Tariff } from './types.js';

/** Default anomaly rates: a few percent of the eligible meters each. */
export const DEFAULT_RATES: Readonly<AnomalyRates> = Object.freeze({
  leak: 0.04,
  burst: 0.03,
  frost: 0.05,
  invoiceError: 0.05,
  silent: 0.03,
  // Opt-in until `meterstream simulate` also produces the prices that judge amounts (priceDeliveries).
  amountError: 0,
});

/** The tariff of the invoices' amounts when none is given: the detectors' defaults, so the service checks them as billed. */
export const DEFAULT_TARIFF: Readonly<Tariff> = Object.freeze({
  markupPerKwh: DETECTOR_DEFAULTS.tariffMarkupPerKwh,
  fixedFee: DETECTOR_DEFAULTS.tariffFixedFee,
});

const OPTION_KEYS = new Set(['seed', 'meters', 'days', 'end', 'tenant', 'timeZone', 'rates', 'granularity', 'tariff']);

function fail(field: string, message: string): never {
  throw new RangeError(`FleetOptions.${field}: ${message}`);
}

/** `options` with every default applied, frozen. */
export function resolveOptions(options: FleetOptions): ResolvedFleetOptions {
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) fail(key, 'unknown option');
  const { seed, meters, days, end } = options;
  if (!Number.isSafeInteger(seed)) fail('seed', `must be an integer, got ${seed}`);
  if (!Number.isSafeInteger(meters) || meters < 0) fail('meters', `must be an integer >= 0, got ${meters}`);
  if (!Number.isSafeInteger(days) || days < 1) fail('days', `must be an integer >= 1, got ${days}`);
  if (!Number.isSafeInteger(end) || end % HOUR !== 0) fail('end', `must be an hour-aligned UTC epoch ms, got ${end}`);
  const tenant = options.tenant ?? 'default';
  if (typeof tenant !== 'string' || tenant === '') fail('tenant', 'must be a non-empty string');
  // By default the fleet lives where the detectors' tenants do (the configuration's default zone).
  const timeZone = options.timeZone ?? DETECTOR_DEFAULTS.timeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    fail('timeZone', `unknown time zone ${JSON.stringify(timeZone)}`);
  }
  const granularity = options.granularity ?? 'reading';
  if (granularity !== 'reading' && granularity !== 'day')
    fail('granularity', `must be 'reading' or 'day', got ${JSON.stringify(granularity)}`);
  const rates: AnomalyRates = { ...DEFAULT_RATES };
  for (const [key, value] of Object.entries(options.rates ?? {})) {
    if (!(key in DEFAULT_RATES)) fail(`rates.${key}`, 'unknown anomaly rate');
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      fail(`rates.${key}`, `must be a number in [0, 1], got ${value}`);
    rates[key as keyof AnomalyRates] = value;
  }
  const tariff = { ...DEFAULT_TARIFF, ...options.tariff };
  for (const [key, value] of Object.entries(tariff))
    if (typeof value !== 'number' || !Number.isFinite(value))
      fail(`tariff.${key}`, `must be a finite number, got ${value}`);
  return Object.freeze({
    seed,
    meters,
    days,
    end,
    tenant,
    timeZone,
    rates: Object.freeze(rates),
    granularity,
    tariff: Object.freeze(tariff),
  });
}
