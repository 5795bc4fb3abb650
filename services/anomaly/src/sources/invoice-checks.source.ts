/**
 * Stored invoice checks (`invoice_checks FINAL`): the invoices that changed hours overlap, to
 * check again, and the PENDING ones whose period has passed, for the sweep. They come back as
 * unchecked invoices (no metered quantity): what is re-read is the invoice, not the old result.
 */
import type { ClickHouseClient, MeterKind, Unit } from '@meterstream/core';
import type { InvoiceOutcome } from '../detectors/invoice-check.js';
import type { InvoiceCheck } from '../transforms/check-invoices.js';

/** Which stored checks to read; every given condition must hold. */
export interface InvoiceChecksFilter {
  /** Checks of these meters (pseudonyms). */
  meters?: string[];
  /** Period ends after this time (ms). */
  from?: number;
  /** Period starts before this time (ms). */
  to?: number;
  /** PENDING, with the period ended before this time (ms). */
  pendingBefore?: number;
  /** Last checked before this time (ms). */
  checkedBefore?: number;
  /** PENDING for want of prices, in one of these price areas. */
  pendingPricesIn?: string[];
}

export class InvoiceChecksSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /** Stored checks matching the filter. */
  async stored(filter: InvoiceChecksFilter): Promise<InvoiceCheck[]> {
    const conds: string[] = [];
    if (filter.meters) conds.push('meter IN {meters:Array(String)}');
    if (filter.from !== undefined) conds.push("period_end > fromUnixTimestamp64Milli(toInt64({from:Int64}), 'UTC')");
    if (filter.to !== undefined) conds.push("period_start < fromUnixTimestamp64Milli(toInt64({to:Int64}), 'UTC')");
    if (filter.pendingBefore !== undefined)
      conds.push("outcome = 'PENDING' AND period_end < fromUnixTimestamp64Milli(toInt64({before:Int64}), 'UTC')");
    if (filter.checkedBefore !== undefined)
      conds.push("checked_at < fromUnixTimestamp64Milli(toInt64({checked:Int64}), 'UTC')");
    if (filter.pendingPricesIn !== undefined)
      conds.push("outcome = 'PENDING' AND reason = 'prices' AND price_area IN {areas:Array(String)}");
    const rs = await this.client.query({
      query: `SELECT invoice_id, tenant, meter, kind, toUnixTimestamp64Milli(period_start) AS ps, toUnixTimestamp64Milli(period_end) AS pe, billed_quantity, unit, outcome, amount, currency, price_area
              FROM ${this.database}.invoice_checks FINAL WHERE ${conds.join(' AND ') || '1'}`,
      query_params: {
        meters: filter.meters ?? [],
        from: filter.from ?? 0,
        to: filter.to ?? 0,
        before: filter.pendingBefore ?? 0,
        checked: filter.checkedBefore ?? 0,
        areas: filter.pendingPricesIn ?? [],
      },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return (await rs.json<Record<string, string | number | null>>()).map((r) => ({
      invoiceId: r.invoice_id as string,
      tenant: r.tenant as string,
      meter: r.meter as string,
      kind: r.kind as MeterKind,
      periodStart: Number(r.ps),
      periodEnd: Number(r.pe),
      billedQuantity: Number(r.billed_quantity),
      unit: r.unit as Unit,
      amount: r.amount === null ? null : Number(r.amount),
      currency: (r.currency as string | null) ?? null,
      priceArea: (r.price_area as string | null) ?? null,
      meteredQuantity: null,
      coverage: 0,
      expectedAmount: null,
      priceCoverage: 0,
      outcome: r.outcome as InvoiceOutcome,
      reason: '',
    }));
  }
}
