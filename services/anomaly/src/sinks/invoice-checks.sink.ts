/**
 * The `invoice_checks` sink: every check's result, one row per invoice and check. The table is
 * a ReplacingMergeTree by `version` (microseconds of the write plus a sequence), so the latest
 * check of an invoice is what FINAL shows.
 */
import { insertTsv, tsvEscape, tsvMillis, tsvNullable, type InsertOptions } from '@meterstream/core';
import { insertOriginOf, type AlertOrigin } from '../alerts.js';
import type { InvoiceCheck } from '../transforms/check-invoices.js';

/** Columns of the `invoice_checks` insert, in the order of {@link InvoiceChecksSink.write}. */
export const INVOICE_CHECK_COLUMNS = [
  'invoice_id',
  'tenant',
  'meter',
  'kind',
  'period_start',
  'period_end',
  'billed_quantity',
  'metered_quantity',
  'unit',
  'coverage',
  'outcome',
  'version',
  'amount',
  'currency',
  'price_area',
  'expected_amount',
  'price_coverage',
  'reason',
] as const;

export class InvoiceChecksSink {
  #seq = 0;
  constructor(private readonly insert: InsertOptions) {}

  /** Writes the checks' results to `invoice_checks`, for the input batch `origin` (its deduplication token). */
  async write(checks: readonly InvoiceCheck[], origin?: AlertOrigin): Promise<void> {
    const base = Date.now() * 1000;
    const body = checks
      .map(
        (c) =>
          `${tsvEscape(c.invoiceId)}\t${tsvEscape(c.tenant)}\t${c.meter}\t${c.kind}\t${tsvMillis(c.periodStart)}\t${tsvMillis(c.periodEnd)}\t${c.billedQuantity}\t${c.meteredQuantity ?? '\\N'}\t${c.unit}\t${c.coverage}\t${c.outcome}\t${base + (this.#seq++ % 1000)}\t${c.amount ?? '\\N'}\t${tsvNullable(c.currency)}\t${tsvNullable(c.priceArea)}\t${c.expectedAmount ?? '\\N'}\t${c.priceCoverage}\t${c.reason}\n`,
      )
      .join('');
    await insertTsv(this.insert, body, checks.length, origin && insertOriginOf(origin, 'invoice_checks'));
  }
}
