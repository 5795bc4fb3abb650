/** Whether an invoice can be checked at all; one that cannot goes to the DLQ with the reason. */
import { isStorableTime, type Invoice } from '@meterstream/core';

/** Longest billing period checked (days). */
const MAX_PERIOD_DAYS = 400;

/** Why an invoice cannot be checked, or null. */
export function invoiceProblem(inv: Invoice): string | null {
  if (!(inv.periodEnd > inv.periodStart)) return 'periodEnd must be after periodStart';
  if (!isStorableTime(inv.periodStart) || !isStorableTime(inv.periodEnd))
    return 'periodStart and periodEnd must be whole milliseconds from 2000 to 2099';
  if (inv.periodEnd - inv.periodStart > MAX_PERIOD_DAYS * 86_400_000) return 'period longer than 400 days';
  if (!Number.isFinite(inv.billedQuantity) || inv.billedQuantity < 0)
    return 'billedQuantity must be a finite, non-negative number';
  if (inv.unit === 'CELSIUS' || inv.kind === 'TEMPERATURE') return 'temperature is not billed';
  if (inv.amount !== null && !Number.isFinite(inv.amount)) return 'amount must be a finite number';
  if (inv.invoiceId.length === 0 || inv.invoiceId.length > 200) return 'invoiceId must have 1 to 200 characters';
  return null;
}
