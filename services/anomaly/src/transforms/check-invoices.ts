/**
 * Invoice checks: the billed quantity of [periodStart, periodEnd) against the metered sum of
 * the meter's hourly rows (`readings_hourly FINAL`). Every check's result is written to
 * `invoice_checks` (`sinks/invoice-checks.sink.ts`); a MISMATCH fires INVOICE_MISMATCH (one
 * episode per invoice), and a later check that matches (corrected or late data) resolves it.
 *
 * Whether the alert is already published is read from the `alerts` table. Its rows name the
 * input batch that wrote them, so a batch delivered again after an aborted transaction
 * recognises its own earlier write and publishes again rather than taking it as published.
 */
import type { ClickHouseClient, MeterKind, Unit } from '@meterstream/core';
import { checkInvoice, type InvoiceOutcome } from '../detectors/invoice-check.js';
import { dedupKeyOf, type AlertOrigin, type Emitted } from '../alerts.js';
import type { TenantDetectors } from '../params.js';

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
  meteredQuantity: number | null;
  coverage: number;
  outcome: InvoiceOutcome;
}

/** A pseudonymised invoice before its check. */
export type UncheckedInvoice = Omit<InvoiceCheck, 'meteredQuantity' | 'coverage' | 'outcome'>;

export class InvoiceChecker {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly detectorsFor: (tenant: string) => TenantDetectors,
  ) {}

  /** Checks invoices against the stored hourly rows at `now`. */
  async check(invoices: readonly UncheckedInvoice[], now: number): Promise<InvoiceCheck[]> {
    return Promise.all(
      invoices.map(async (inv) => {
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
          return { ...inv, meteredQuantity: null, coverage: 0, outcome: r.outcome };
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
          return { ...inv, meteredQuantity: null, coverage: 0, outcome: 'INSUFFICIENT_DATA' as const };
        }
        return { ...inv, meteredQuantity: r.metered, coverage: r.coverage, outcome: r.outcome };
      }),
    );
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
      const firing = published.get(keys[i]) ?? false;
      const details = {
        billed: c.billedQuantity,
        metered: c.meteredQuantity ?? 0,
        difference: c.billedQuantity - (c.meteredQuantity ?? 0),
        coverage: c.coverage,
      };
      if (c.outcome === 'MISMATCH' && !firing) {
        const pct = c.meteredQuantity ? (100 * (c.billedQuantity - c.meteredQuantity)) / c.meteredQuantity : 0;
        out.push({
          subject,
          t: {
            type: 'INVOICE_MISMATCH',
            variant: c.invoiceId,
            status: 'FIRING',
            severity: 'WARNING',
            episodeStart: c.periodStart,
            at: now,
            details: { ...details, differencePct: pct },
            // No invoice ID in an alert: it names a customer's account (issue 12); the period does not.
            summary: `The invoice for ${period(c)} bills ${c.billedQuantity} ${c.unit}, the meter measured ${(c.meteredQuantity ?? 0).toFixed(2)} ${c.unit} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %)`,
          },
        });
      } else if (c.outcome === 'MATCH' && firing) {
        out.push({
          subject,
          t: {
            type: 'INVOICE_MISMATCH',
            variant: c.invoiceId,
            status: 'RESOLVED',
            severity: 'WARNING',
            episodeStart: c.periodStart,
            at: now,
            details,
            summary: `The invoice for ${period(c)} now matches the metered quantity (corrected or late readings)`,
          },
        });
      }
    });
    return out;
  }
}

/** An invoice's period as UTC dates, end exclusive: `2026-10-01..2026-11-01`. */
function period(c: { periodStart: number; periodEnd: number }): string {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  return `${day(c.periodStart)}..${day(c.periodEnd)}`;
}
