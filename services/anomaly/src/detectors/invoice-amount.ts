/**
 * The price-weighted invoice check: an electricity invoice's `amount` against what its metered
 * hours cost at the hourly spot price plus the tenant's tariff,
 * expected = Σ hourly kWh × (spot + markup) + fixed fee (DOMAIN.md, "Invoices"). Tolerance
 * max(abs, pct % of the expected amount) in the invoice's currency. While a price of one of the
 * period's hours is missing the check is PENDING; after the wait, INSUFFICIENT_DATA. Pure.
 *
 * The evidence names the hours that differ most: an invoice states one total, so each hour is
 * weighed at the invoice's own price per kWh, (amount − fee) / Σ kWh, against the hour's spot +
 * markup; delta = kWh × (invoice price − hour price). A retailer that billed a flat price, or the
 * wrong area's prices, shows in the hours where that price departs most from the hour's.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { InvoiceOutcome } from './invoice-check.js';

const H = 3_600_000;

export interface AmountCheckParams {
  /** Absolute tolerance in the invoice's currency. */
  toleranceAbs: number;
  /** Relative tolerance (0.02 = 2 %) of the expected amount. */
  toleranceRel: number;
  /** The tariff: markup per kWh on the spot price, fixed fee per invoice. */
  markupPerKwh: number;
  fixedFee: number;
  /** How long after the period end missing prices make the check INSUFFICIENT_DATA (ms). */
  waitMs: number;
  /** How many hours the evidence names. */
  topHours: number;
}

/** The parameters from a tenant's detector settings. */
export function amountCheckParams(s: DetectorSettings): AmountCheckParams {
  return {
    toleranceAbs: s.invoiceAmountToleranceAbs,
    toleranceRel: s.invoiceTolerancePct / 100,
    markupPerKwh: s.tariffMarkupPerKwh,
    fixedFee: s.tariffFixedFee,
    waitMs: s.invoiceWaitDays * 86_400_000,
    topHours: 3,
  };
}

/** The parameters of the configuration's defaults. */
export const AMOUNT_DEFAULTS: AmountCheckParams = amountCheckParams(DETECTOR_DEFAULTS);

export interface AmountCheckInput {
  periodStart: number;
  periodEnd: number;
  /** The billed amount, in the prices' currency. */
  amount: number;
  /** Metered kWh per hour (hour start, UTC ms) of the period. */
  hours: readonly { hour: number; kwh: number }[];
  /** Spot price per kWh by hour start (UTC ms). */
  prices: ReadonlyMap<number, number>;
  /** Evaluation time (ms). */
  now: number;
}

/** One hour of the evidence: how far the invoice's price per kWh is from the hour's, times its kWh. */
export interface HourDelta {
  hour: number;
  kwh: number;
  price: number;
  delta: number;
}

export interface AmountCheckResult {
  outcome: InvoiceOutcome;
  /** Σ kWh × (spot + markup) + fee; null while a price is missing. */
  expected: number | null;
  /** amount − expected (0 while a price is missing). */
  difference: number;
  tolerance: number;
  /** Share of the period's hours that have a price. */
  priceCoverage: number;
  /** (amount − fee) / Σ kWh, or null without consumption. */
  invoicePricePerKwh: number | null;
  /** The hours whose |delta| is largest, largest first (empty unless decided). */
  top: HourDelta[];
}

export function checkInvoiceAmount(
  input: AmountCheckInput,
  params: AmountCheckParams = AMOUNT_DEFAULTS,
): AmountCheckResult {
  let gridHours = 0;
  let priced = 0;
  for (let h = Math.ceil(input.periodStart / H) * H; h < input.periodEnd; h += H) {
    gridHours++;
    if (input.prices.has(h)) priced++;
  }
  const priceCoverage = gridHours === 0 ? 0 : priced / gridHours;
  const hours = input.hours.filter((h) => h.hour >= input.periodStart && h.hour < input.periodEnd);
  const unpriced = hours.some((h) => !input.prices.has(h.hour));
  if (priced < gridHours || unpriced || gridHours === 0) {
    const outcome = input.now >= input.periodEnd + params.waitMs ? 'INSUFFICIENT_DATA' : 'PENDING';
    return { outcome, expected: null, difference: 0, tolerance: 0, priceCoverage, invoicePricePerKwh: null, top: [] };
  }
  let energy = 0;
  let cost = 0;
  for (const h of hours) {
    energy += h.kwh;
    cost += h.kwh * (input.prices.get(h.hour)! + params.markupPerKwh);
  }
  const expected = cost + params.fixedFee;
  const difference = input.amount - expected;
  const tolerance = Math.max(params.toleranceAbs, params.toleranceRel * Math.abs(expected));
  const outcome: InvoiceOutcome = Math.abs(difference) <= tolerance ? 'MATCH' : 'MISMATCH';
  const invoicePricePerKwh = energy > 0 ? (input.amount - params.fixedFee) / energy : null;
  const top =
    invoicePricePerKwh === null
      ? []
      : hours
          .map((h) => {
            const price = input.prices.get(h.hour)! + params.markupPerKwh;
            return { hour: h.hour, kwh: h.kwh, price, delta: h.kwh * (invoicePricePerKwh - price) };
          })
          .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.hour - b.hour)
          .slice(0, params.topHours);
  return { outcome, expected, difference, tolerance, priceCoverage, invoicePricePerKwh, top };
}
