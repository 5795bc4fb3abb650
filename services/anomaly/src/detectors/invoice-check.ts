/**
 * INVOICE_MISMATCH: the billed quantity for [periodStart, periodEnd) against the metered sum of
 * the hourly rows. Defaults (DOMAIN.md): tolerance max(1 unit, 2 %); while the metered coverage
 * of the period is incomplete the check is PENDING (re-run as late data arrives); 10 days after
 * the period end it is reported as INSUFFICIENT_DATA, not as a mismatch. Pure.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings, type Unit } from '@meterstream/core';

export interface InvoiceCheckParams {
  /** Absolute tolerance in the invoice's unit. */
  toleranceAbs: number;
  /** Relative tolerance (0.02 = 2 %). */
  toleranceRel: number;
  /** Share of the period's hours that must be covered to judge (1 = every hour). */
  minCoverage: number;
  /** How long after the period end missing data makes the check INSUFFICIENT_DATA (ms). */
  waitMs: number;
}

/** The parameters from a tenant's detector settings; a period counts as covered from 99.9 % of its hours. */
export function invoiceCheckParams(s: DetectorSettings): InvoiceCheckParams {
  return {
    toleranceAbs: s.invoiceToleranceAbs,
    toleranceRel: s.invoiceTolerancePct / 100,
    minCoverage: 0.999,
    waitMs: s.invoiceWaitDays * 86_400_000,
  };
}

/** The parameters of the configuration's defaults. */
export const INVOICE_DEFAULTS: InvoiceCheckParams = invoiceCheckParams(DETECTOR_DEFAULTS);

export type InvoiceOutcome = 'MATCH' | 'MISMATCH' | 'PENDING' | 'INSUFFICIENT_DATA';

/** Factor to a base unit per dimension (energy: Wh, volume: L). */
const TO_BASE: Partial<Record<Unit, { dim: 'energy' | 'volume' | 'temperature'; factor: number }>> = {
  WH: { dim: 'energy', factor: 1 },
  KWH: { dim: 'energy', factor: 1e3 },
  MWH: { dim: 'energy', factor: 1e6 },
  L: { dim: 'volume', factor: 1 },
  M3: { dim: 'volume', factor: 1e3 },
};

/** Converts a quantity between units of the same dimension, or throws. */
export function convert(value: number, from: Unit, to: Unit): number {
  const a = TO_BASE[from];
  const b = TO_BASE[to];
  if (!a || !b || a.dim !== b.dim) throw new RangeError(`cannot convert ${from} to ${to}`);
  return (value * a.factor) / b.factor;
}

export interface InvoiceCheckInput {
  periodStart: number;
  periodEnd: number;
  billedQuantity: number;
  unit: Unit;
  /** Metered sum of the period's hourly rows, and its unit. */
  meteredSum: number;
  meteredUnit: Unit;
  /** Sum of the hourly rows' coverage (hours' worth of readings) in the period. */
  coveredHours: number;
  /** Evaluation time (ms). */
  now: number;
}

export interface InvoiceCheckResult {
  outcome: InvoiceOutcome;
  /** Metered quantity in the invoice's unit. */
  metered: number;
  /** billed - metered, in the invoice's unit. */
  difference: number;
  tolerance: number;
  coverage: number;
}

export function checkInvoice(
  input: InvoiceCheckInput,
  params: InvoiceCheckParams = INVOICE_DEFAULTS,
): InvoiceCheckResult {
  const hours = (input.periodEnd - input.periodStart) / 3_600_000;
  const coverage = hours > 0 ? Math.min(1, input.coveredHours / hours) : 0;
  const metered = convert(input.meteredSum, input.meteredUnit, input.unit);
  const difference = input.billedQuantity - metered;
  const tolerance = Math.max(params.toleranceAbs, params.toleranceRel * Math.abs(metered));
  let outcome: InvoiceOutcome;
  if (coverage < params.minCoverage)
    outcome = input.now >= input.periodEnd + params.waitMs ? 'INSUFFICIENT_DATA' : 'PENDING';
  else outcome = Math.abs(difference) <= tolerance ? 'MATCH' : 'MISMATCH';
  return { outcome, metered, difference, tolerance, coverage };
}
