/**
 * The INVOICE_MISMATCH transition of one invoice check: one episode per invoice (variant = the
 * invoice ID), whatever it is about. `details.reason` says which check failed: 1 the billed
 * quantity against the metered sum, 2 the billed amount against the metered hours at spot price
 * plus tariff (checked only once the quantity matches, so one wrong invoice is one alert). The
 * episode resolves when a later check matches both. Pure.
 */
import type { AlertTransition } from '../detectors/detector.js';
import type { InvoiceCheck } from './check-invoices.js';

/** `details.reason` of an INVOICE_MISMATCH. */
export const INVOICE_REASON_CODES = { quantity: 1, amount: 2 } as const;

/** The transition a check calls for, given whether its episode is firing; null for none. */
export function invoiceTransition(c: InvoiceCheck, firing: boolean, now: number): AlertTransition | null {
  const base = {
    type: 'INVOICE_MISMATCH' as const,
    variant: c.invoiceId,
    severity: 'WARNING' as const,
    episodeStart: c.periodStart,
    at: now,
  };
  const quantity = {
    billed: c.billedQuantity,
    metered: c.meteredQuantity ?? 0,
    difference: c.billedQuantity - (c.meteredQuantity ?? 0),
    coverage: c.coverage,
  };
  if (c.outcome === 'MATCH' && firing)
    return {
      ...base,
      status: 'RESOLVED',
      details: quantity,
      summary: `The invoice for ${period(c)} now matches the metered ${c.amount !== null && c.expectedAmount !== null ? 'quantity and hourly prices' : 'quantity'} (corrected or late data)`,
    };
  if (c.outcome !== 'MISMATCH' || firing) return null;
  // No invoice ID in an alert: it names a customer's account (issue 12); the period does not.
  if (c.reason === 'amount') {
    const expected = c.expectedAmount ?? 0;
    const billed = c.amount ?? 0;
    const pct = expected !== 0 ? (100 * (billed - expected)) / Math.abs(expected) : 0;
    const details: Record<string, number> = {
      ...quantity,
      reason: INVOICE_REASON_CODES.amount,
      billedAmount: billed,
      expectedAmount: expected,
      amountDifference: billed - expected,
      differencePct: pct,
      priceCoverage: c.priceCoverage,
    };
    if (c.amountEvidence?.invoicePricePerKwh != null) details.invoicePricePerKwh = c.amountEvidence.invoicePricePerKwh;
    // The hours that differ most: epoch ms of the hour start, and kWh x (invoice price - hour price).
    (c.amountEvidence?.top ?? []).forEach((h, i) => {
      details[`topHour${i + 1}`] = h.hour;
      details[`topHour${i + 1}Delta`] = h.delta;
      details[`topHour${i + 1}Price`] = h.price;
    });
    const cur = c.currency ?? '';
    return {
      ...base,
      status: 'FIRING',
      details,
      summary: `The invoice for ${period(c)} bills ${billed.toFixed(2)} ${cur}; its metered hours at the ${c.priceArea} spot price and the tariff come to ${expected.toFixed(2)} ${cur} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %)`,
    };
  }
  const pct = c.meteredQuantity ? (100 * (c.billedQuantity - c.meteredQuantity)) / c.meteredQuantity : 0;
  return {
    ...base,
    status: 'FIRING',
    details: { ...quantity, differencePct: pct, reason: INVOICE_REASON_CODES.quantity },
    summary: `The invoice for ${period(c)} bills ${c.billedQuantity} ${c.unit}, the meter measured ${(c.meteredQuantity ?? 0).toFixed(2)} ${c.unit} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %)`,
  };
}

/** An invoice's period as UTC dates, end exclusive: `2026-10-01..2026-11-01`. */
function period(c: { periodStart: number; periodEnd: number }): string {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  return `${day(c.periodStart)}..${day(c.periodEnd)}`;
}
