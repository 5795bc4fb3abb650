/**
 * `GET /v1/invoice-checks?status=&tenant=&since=&limit=`: the latest check of each invoice
 * (`invoice_checks FINAL`), newest period first, PENDING and INSUFFICIENT_DATA included — what a
 * billing clerk asks "which invoices could not be checked yet, and why" (`reason`). Answers only
 * for the token's tenants (a `tenant` outside them gives an empty list, as an unknown one does),
 * and reads a bounded window: periods that ended at or after `since` (default the last
 * {@link DEFAULT_DAYS} days), at most {@link MAX_CHECKS} rows.
 */
import { principalOf, tenantCondition, type ClickHouseClient } from '@meterstream/core';
import type { FastifyInstance } from 'fastify';

const OUTCOMES = ['MATCH', 'MISMATCH', 'PENDING', 'INSUFFICIENT_DATA'];
const DAY_MS = 86_400_000;
/** Default window: periods that ended in the last this many days. */
export const DEFAULT_DAYS = 30;
/** The most one request returns. */
export const MAX_CHECKS = 1000;

interface ChecksQuery {
  status?: string;
  tenant?: string;
  since?: string;
  limit?: number;
}

const iso = (ms: unknown) => (ms === null ? null : new Date(Number(ms)).toISOString());
const numOrNull = (v: unknown) => (v === null ? null : Number(v));

export function registerInvoiceCheckRoutes(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouseClient; database: string },
): void {
  app.get<{ Querystring: ChecksQuery }>(
    '/v1/invoice-checks',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: OUTCOMES, description: 'The outcome of the latest check' },
            tenant: { type: 'string', minLength: 1, maxLength: 200 },
            since: {
              type: 'string',
              format: 'date-time',
              description: `Invoices whose period ended at or after this time; default ${DEFAULT_DAYS} days ago`,
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_CHECKS, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              checks: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    invoiceId: { type: 'string' },
                    tenant: { type: 'string' },
                    meter: { type: 'string', description: 'Pseudonym' },
                    kind: { type: 'string' },
                    periodStart: { type: 'string', format: 'date-time' },
                    periodEnd: { type: 'string', format: 'date-time', description: 'Exclusive' },
                    billedQuantity: { type: 'number' },
                    meteredQuantity: { type: ['number', 'null'] },
                    unit: { type: 'string' },
                    coverage: { type: 'number', description: "Share of the period's hours metered" },
                    amount: { type: ['number', 'null'] },
                    currency: { type: ['string', 'null'] },
                    priceArea: { type: ['string', 'null'] },
                    expectedAmount: {
                      type: ['number', 'null'],
                      description: 'Σ hourly kWh × (spot + markup) + fixed fee, once every hour has a price',
                    },
                    priceCoverage: { type: 'number', description: "Share of the period's hours with a spot price" },
                    outcome: { type: 'string', enum: OUTCOMES },
                    reason: {
                      type: 'string',
                      enum: ['', 'quantity', 'amount', 'consumption', 'prices'],
                      description:
                        'MISMATCH: quantity or amount; PENDING / INSUFFICIENT_DATA: waiting for consumption or prices',
                    },
                    checkedAt: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const scope = tenantCondition(principalOf(req));
      const conds = [scope.sql, "period_end >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')"];
      if (q.status) conds.push('outcome = {status:String}');
      if (q.tenant) conds.push('tenant = {tenant:String}');
      const rs = await deps.clickhouse.query({
        query: `SELECT invoice_id, tenant, meter, kind, toUnixTimestamp64Milli(period_start) AS ps, toUnixTimestamp64Milli(period_end) AS pe,
                       billed_quantity, metered_quantity, unit, coverage, amount, currency, price_area, expected_amount,
                       price_coverage, outcome, reason, toUnixTimestamp64Milli(checked_at) AS checked
                FROM ${deps.database}.invoice_checks FINAL WHERE ${conds.join(' AND ')}
                ORDER BY period_end DESC, tenant, invoice_id LIMIT {limit:UInt32}`,
        query_params: {
          status: q.status ?? '',
          tenant: q.tenant ?? '',
          since: q.since ? Date.parse(q.since) : Date.now() - DEFAULT_DAYS * DAY_MS,
          limit: q.limit ?? 100,
          ...scope.params,
        },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const rows = await rs.json<Record<string, unknown>>();
      return {
        checks: rows.map((r) => ({
          invoiceId: r.invoice_id,
          tenant: r.tenant,
          meter: r.meter,
          kind: r.kind,
          periodStart: iso(r.ps),
          periodEnd: iso(r.pe),
          billedQuantity: Number(r.billed_quantity),
          meteredQuantity: numOrNull(r.metered_quantity),
          unit: r.unit,
          coverage: Number(r.coverage),
          amount: numOrNull(r.amount),
          currency: r.currency,
          priceArea: r.price_area,
          expectedAmount: numOrNull(r.expected_amount),
          priceCoverage: Number(r.price_coverage),
          outcome: r.outcome,
          reason: r.reason,
          checkedAt: iso(r.checked),
        })),
      };
    },
  );
}
