/**
 * Invoice checks: the billed quantity of [periodStart, periodEnd) against the metered sum of
 * the meter's hourly rows (`readings_hourly FINAL`); once it matches, an electricity invoice's
 * amount against its hours at the spot price plus the tenant's tariff (`spot_prices FINAL`,
 * `detectors/invoice-amount.ts`). Every check's result is written to `invoice_checks`
 * (`sinks/invoice-checks.sink.ts`); a MISMATCH fires INVOICE_MISMATCH (one episode per invoice,
 * `transforms/invoice-alerts.ts`), and a later check that matches (corrected or late data,
 * late prices) resolves it.
 *
 * Whether the alert is already published is read from the `alerts` table. Its rows name the
 * input batch that wrote them, so a batch delivered again after an aborted transaction
 * recognises its own earlier write and publishes again rather than taking it as published.
 */
import type { ClickHouseClient, MeterKind, Unit } from '@meterstream/core';
import { checkInvoiceAmount, type HourDelta } from '../detectors/invoice-amount.js';
import { checkInvoice, convert, type InvoiceOutcome } from '../detectors/invoice-check.js';
import { SpotPricesSource } from '../sources/spot-prices.source.js';
import { dedupKeyOf, type AlertOrigin, type Emitted } from '../alerts.js';
import { invoiceTransition } from './invoice-alerts.js';
import type { TenantDetectors } from '../params.js';

/** What a check's outcome is about: MISMATCH quantity or amount; PENDING / INSUFFICIENT_DATA consumption or prices. */
export type InvoiceReason = '' | 'quantity' | 'amount' | 'consumption' | 'prices';

/** A pseudonymised invoice and its latest check. */
export interface InvoiceCheck {
  invoiceId: string;
  tenant: string;
  meter: string;
  kind: MeterKind;
  periodStart: number;
  periodEnd: number;
  billedQuantity: number;
  unit: Unit;
  /** The billed amount, its currency and the price area it was billed in (null when not stated). */
  amount: number | null;
  currency: string | null;
  priceArea: string | null;
  meteredQuantity: number | null;
  coverage: number;
  /** Σ hourly kWh × (spot + markup) + fee, once every hour has a price; null otherwise. */
  expectedAmount: number | null;
  /** Share of the period's hours with a spot price (0 when the amount is not checked). */
  priceCoverage: number;
  outcome: InvoiceOutcome;
  reason: InvoiceReason;
  /** The amount check's evidence (in memory only: the alert's details carry it). */
  amountEvidence?: { invoicePricePerKwh: number | null; top: HourDelta[] };
}

/** A pseudonymised invoice before its check. */
export type UncheckedInvoice = Omit<
  InvoiceCheck,
  'meteredQuantity' | 'coverage' | 'outcome' | 'expectedAmount' | 'priceCoverage' | 'reason' | 'amountEvidence'
>;

/** True when the invoice's amount is checked against spot prices: electricity bought, with amount, currency and area. */
export function amountCheckable(inv: UncheckedInvoice): boolean {
  return inv.kind === 'ELECTRICITY_IMPORT' && inv.amount !== null && inv.currency !== null && inv.priceArea !== null;
}

export class InvoiceChecker {
  readonly #prices: SpotPricesSource;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly detectorsFor: (tenant: string) => TenantDetectors,
  ) {
    this.#prices = new SpotPricesSource(client, database);
  }

  /** Checks invoices against the stored hourly rows at `now`. */
  async check(invoices: readonly UncheckedInvoice[], now: number): Promise<InvoiceCheck[]> {
    return Promise.all(
      invoices.map(async (inv) => {
        const q = await this.#quantity(inv, now);
        if (q.outcome !== 'MATCH' || !amountCheckable(inv)) return q;
        return this.#amount(q, now);
      }),
    );
  }

  /** The billed quantity against the metered sum of the period's hourly rows. */
  async #quantity(inv: UncheckedInvoice, now: number): Promise<InvoiceCheck> {
    const unchecked = { expectedAmount: null, priceCoverage: 0 };
    const reasonOf = (o: InvoiceOutcome): InvoiceReason =>
      o === 'MISMATCH' ? 'quantity' : o === 'MATCH' ? '' : 'consumption';
    const rs = await this.client.query({
      query: `SELECT sum(value_sum) AS s, sum(coverage) AS c, any(unit) AS u, count() AS n FROM ${this.database}.readings_hourly FINAL
                  WHERE tenant = {tenant:String} AND meter = {meter:String} AND kind = {kind:String}
                    AND hour >= toDateTime({from:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')`,
      query_params: {
        tenant: inv.tenant,
        meter: inv.meter,
        kind: inv.kind,
        from: Math.floor(inv.periodStart / 1000),
        to: Math.ceil(inv.periodEnd / 1000),
      },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await rs.json<{ s: number; c: number; u: string; n: number }>();
    const params = this.detectorsFor(inv.tenant).invoice;
    if (!row || row.n === 0) {
      const r = checkInvoice(
        {
          periodStart: inv.periodStart,
          periodEnd: inv.periodEnd,
          billedQuantity: inv.billedQuantity,
          unit: inv.unit,
          meteredSum: 0,
          meteredUnit: inv.unit,
          coveredHours: 0,
          now,
        },
        params,
      );
      return {
        ...inv,
        ...unchecked,
        meteredQuantity: null,
        coverage: 0,
        outcome: r.outcome,
        reason: reasonOf(r.outcome),
      };
    }
    let r;
    try {
      r = checkInvoice(
        {
          periodStart: inv.periodStart,
          periodEnd: inv.periodEnd,
          billedQuantity: inv.billedQuantity,
          unit: inv.unit,
          meteredSum: row.s,
          meteredUnit: row.u as Unit,
          coveredHours: row.c,
          now,
        },
        params,
      );
    } catch {
      // Units of different dimensions (an invoice in m3 for an electricity meter): not comparable.
      return {
        ...inv,
        ...unchecked,
        meteredQuantity: null,
        coverage: 0,
        outcome: 'INSUFFICIENT_DATA' as const,
        reason: 'consumption' as const,
      };
    }
    return {
      ...inv,
      ...unchecked,
      meteredQuantity: r.metered,
      coverage: r.coverage,
      outcome: r.outcome,
      reason: reasonOf(r.outcome),
    };
  }

  /** A quantity that matched: the amount against the period's hours at spot price plus tariff. */
  async #amount(q: InvoiceCheck, now: number): Promise<InvoiceCheck> {
    const [{ unit, hours }, prices] = await Promise.all([
      this.#prices.hours(q, q.periodStart, q.periodEnd),
      this.#prices.prices(q.priceArea!, q.currency!, q.periodStart, q.periodEnd),
    ]);
    const r = checkInvoiceAmount(
      {
        periodStart: q.periodStart,
        periodEnd: q.periodEnd,
        amount: q.amount!,
        hours: hours.map((h) => ({ hour: h.hour, kwh: convert(h.sum, (unit ?? 'KWH') as Unit, 'KWH') })),
        prices,
        now,
      },
      this.detectorsFor(q.tenant).amount,
    );
    return {
      ...q,
      expectedAmount: r.expected,
      priceCoverage: r.priceCoverage,
      outcome: r.outcome,
      reason: r.outcome === 'MISMATCH' ? 'amount' : r.outcome === 'MATCH' ? '' : 'prices',
      amountEvidence: { invoicePricePerKwh: r.invoicePricePerKwh, top: r.top },
    };
  }

  /**
   * The alert transitions the checks call for, given what is published: FIRING for a new
   * mismatch, RESOLVED for a published mismatch that now matches.
   */
  async transitions(
    checks: readonly InvoiceCheck[],
    origin: AlertOrigin,
    firstOffset: bigint,
    now: number,
  ): Promise<Emitted[]> {
    const decided = checks.filter((c) => c.outcome === 'MATCH' || c.outcome === 'MISMATCH');
    if (decided.length === 0) return [];
    const keyed = decided.map((c) => ({
      c,
      subject: { tenant: c.tenant, meter: c.meter, zoneId: null },
      slot: { type: 'INVOICE_MISMATCH' as const, variant: c.invoiceId, episodeStart: c.periodStart },
    }));
    const keys = keyed.map((k) => dedupKeyOf(k.subject, k.slot));
    const rs = await this.client.query({
      query: `SELECT dedup_key, argMax(status, version) AS status, argMax(source, version) AS source, argMax(partition, version) AS partition, argMax(source_offset, version) AS off
              FROM ${this.database}.alerts WHERE dedup_key IN {keys:Array(String)} GROUP BY dedup_key`,
      query_params: { keys },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const published = new Map<string, boolean>();
    for (const r of await rs.json<{
      dedup_key: string;
      status: string;
      source: string;
      partition: number;
      off: number;
    }>()) {
      const firing = r.status === 'FIRING';
      const ours = r.source === origin.source && r.partition === origin.partition && BigInt(r.off) >= firstOffset;
      // A row our own aborted attempt wrote records the change it made: undo it in our view.
      published.set(r.dedup_key, ours ? !firing : firing);
    }
    const out: Emitted[] = [];
    keyed.forEach(({ c, subject }, i) => {
      const t = invoiceTransition(c, published.get(keys[i]) ?? false, now);
      if (t !== null) out.push({ subject, t });
    });
    return out;
  }
}
